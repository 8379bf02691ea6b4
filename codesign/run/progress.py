"""The live sweep display (rich): trials done/running/failed, best values, hypervolume, ETA."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def _format(value: float) -> str:
    return f"{value:.4g}"


class SweepDisplay:
    """Context manager; `update(status, elapsed)` redraws. Quiet when the console is not a terminal
    except for one line per finished trial, so logs stay readable."""

    def __init__(self, console: Console | None = None, objectives: dict[str, str] | None = None):
        self.console = console or Console(stderr=True)
        self.objectives = objectives or {}
        self.progress = Progress(
            TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"), console=self.console,
        )
        self.task = self.progress.add_task("trials", total=1, eta="")
        self.live = Live(self._render({}), console=self.console, refresh_per_second=4, transient=False)
        self._last_finished = None
        self._started_finished = None

    def __enter__(self) -> "SweepDisplay":
        if self.console.is_terminal:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.console.is_terminal:
            self.live.__exit__(*exc)

    def _render(self, status: dict) -> Table:
        grid = Table.grid(padding=(0, 2))
        grid.add_row(self.progress)
        if status:
            states = status["states"]
            grid.add_row(
                f"complete {states['complete']}  running {states['running']}  failed {states['failed']}  "
                f"infeasible {states['infeasible']}  pruned {states['pruned']}  |  front {status['front_size']}  "
                f"hypervolume {_format(status['hypervolume'])}"
            )
            best = status["best"]
            if best:
                grid.add_row("best: " + "  ".join(
                    f"{name} {_format(value)} ({'max' if self.objectives.get(name) == 'maximize' else 'min'})"
                    for name, value in best.items()))
        return grid

    def update(self, status: dict, elapsed: float) -> None:
        finished, total = status["finished"], status["total"]
        if self._started_finished is None:
            self._started_finished = finished
        done_here = finished - self._started_finished
        eta = ""
        if done_here > 0 and finished < total:
            eta = f"ETA {elapsed / done_here * (total - finished):.0f}s"
        self.progress.update(self.task, completed=finished, total=total, eta=eta)
        if self.console.is_terminal:
            self.live.update(self._render(status))
        elif finished != self._last_finished:
            best = ", ".join(f"{k}={_format(v)}" for k, v in status["best"].items())
            self.console.print(f"[{finished}/{total}] running {status['states']['running']} "
                               f"failed {status['states']['failed']} best: {best or '-'} {eta}")
        self._last_finished = finished
