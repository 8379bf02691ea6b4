"""A study as one self-contained HTML file: figures as base64 PNG, inline CSS and JS, nothing fetched.

One file because a report gets mailed, attached to a ticket or opened on a cluster's login
node without a web server; so nothing in it points outside itself. The trial table sorts
on a click of its header (a few lines of inline JS). Opening the file with `#selftest` makes
the page check itself (every image decoded, one row per trial, a sort that works) and write
the verdict into `<body data-selftest=...>`, which a headless browser's DOM dump shows.
"""

from __future__ import annotations

import base64
import html
import time
from pathlib import Path

from codesign.atomic import check_output, parent_folders, write_file
from codesign.errors import CodesignError

FIGURES = ("pareto", "hypervolume", "importance", "parallel_coordinates")
TITLES = {
    "pareto": "Pareto front",
    "hypervolume": "Hypervolume per evaluation",
    "importance": "Parameter importance",
    "parallel_coordinates": "Parallel coordinates",
}

CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.meta { color: #555; font-size: .9em; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .4em .8em; margin: .6em 0; font-size: .9em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: .82em; width: 100%; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: right; white-space: nowrap; }
td.text { text-align: left; white-space: normal; }
th { background: #f3f3f3; cursor: pointer; user-select: none; position: sticky; top: 0; }
th[data-dir="asc"]::after { content: " \\25B2"; } th[data-dir="desc"]::after { content: " \\25BC"; }
tr.front td { background: #fdeaea; }
"""

JS = r"""
function sortTable(table, column) {
  var header = table.tHead.rows[0].cells[column];
  var dir = header.getAttribute('data-dir') === 'asc' ? 'desc' : 'asc';
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute('data-dir'); });
  header.setAttribute('data-dir', dir);
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = a.cells[column].getAttribute('data-sort'), y = b.cells[column].getAttribute('data-sort');
    var nx = parseFloat(x), ny = parseFloat(y), result;
    if (x === '' || y === '') { result = (x === '') - (y === ''); return result; }
    result = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : (x < y ? -1 : x > y ? 1 : 0);
    return dir === 'asc' ? result : -result;
  });
  rows.forEach(function (row) { body.appendChild(row); });
}
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('table.sortable').forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, index) {
      cell.addEventListener('click', function () { sortTable(table, index); });
    });
  });
});
window.addEventListener('load', function () {
  if (location.hash !== '#selftest') return;
  var images = Array.prototype.slice.call(document.images);
  var decoded = images.filter(function (img) { return img.complete && img.naturalWidth > 0 && img.naturalHeight > 0; });
  var table = document.getElementById('trials');
  var rows = table ? table.tBodies[0].rows.length : -1;
  var sorted = false;
  if (table && rows > 0) {
    var header = table.tHead.rows[0].cells[0];
    header.click(); header.click();  // trial number, descending
    var numbers = Array.prototype.map.call(table.tBodies[0].rows, function (row) { return parseFloat(row.cells[0].getAttribute('data-sort')); });
    sorted = numbers.every(function (n, i) { return i === 0 || numbers[i - 1] >= n; }) && numbers[0] === Math.max.apply(null, numbers);
  }
  document.body.setAttribute('data-selftest', JSON.stringify({
    images: images.length, decoded: decoded.length,
    sizes: decoded.map(function (img) { return img.naturalWidth + 'x' + img.naturalHeight; }),
    rows: rows, sorted: sorted
  }));
});
"""


def build_figures(study) -> tuple[dict[str, bytes], dict[str, str], dict]:
    """(figure name -> PNG bytes, figure name -> note where it is missing or partial, data used)."""
    from codesign.report import plots
    from codesign.study.results import complete_trials, hypervolume_curve, pareto_trials, study_objectives

    objectives = study_objectives(study)
    trials = study.trials()
    front = pareto_trials(trials, objectives)
    figures, notes = {}, {}
    done = complete_trials(trials, objectives)

    figure = plots.pareto_figure(trials, front, objectives)
    if figure is None:
        notes["pareto"] = "no trial has objective values yet, so there is no front to draw"
    else:
        figures["pareto"] = figure
        without = sum(1 for t in trials if not (t.values and all(n in t.values for n in objectives)))
        if without:
            notes["pareto"] = f"{without} trial(s) without objective values (failed, pruned or unfinished) are not plotted"

    numbers, volumes = hypervolume_curve(trials, objectives)
    figure = plots.hypervolume_figure(numbers, volumes)
    if figure is None:
        notes["hypervolume"] = "no complete trials, so the hypervolume is zero throughout"
    else:
        figures["hypervolume"] = figure

    importance, why = parameter_importance(study)
    figure = plots.importance_figure(importance) if importance else None
    if figure is None:
        notes["importance"] = why or "no parameter varies, so there is nothing to rank"
    else:
        figures["importance"] = figure

    figure = plots.parallel_coordinates_figure(trials, front, objectives)
    if figure is None:
        notes["parallel_coordinates"] = "fewer than two varying parameters/objectives to draw"
    else:
        figures["parallel_coordinates"] = figure
    return figures, notes, {"trials": trials, "front": front, "objectives": objectives, "complete": done,
                            "importance": importance}


def parameter_importance(study) -> tuple[dict, str | None]:
    """Per-objective importance from the GP the study's own history fits; (scores, None) or ({}, why not)."""
    from codesign.config import parse_config
    from codesign.run.search_space import build_space, sampler_for
    from codesign.search.optimizer import BayesianOptimizer
    from codesign.study.results import complete_trials, misfit_params, study_objectives
    from codesign.study.trial import COMPLETE, INFEASIBLE

    trials = study.trials()
    observed = [t for t in trials if t.state in (COMPLETE, INFEASIBLE) and t.values]
    done = complete_trials(trials, study_objectives(study))
    if len(observed) < 3:
        return {}, (f"parameter importance needs at least 3 trials with objective values to fit the surrogate; "
                    f"this study has {len(observed)} ({len(done)} complete)")
    try:
        misfits = misfit_params(study, trials)
        if misfits:
            return {}, f"parameter importance is not available: {next(iter(misfits.values()))}"
        config = parse_config(study.config)
        optimizer = sampler_for(config, study)
        if not isinstance(optimizer, BayesianOptimizer):  # random/sobol/grid studies: fit the same GP anyway
            optimizer = BayesianOptimizer(build_space(config), objectives=config.objectives,
                                          constraints=config.constraints, seed=config.seed, study=study)
        scores = optimizer.importance()
    except CodesignError as error:
        return {}, f"parameter importance is not available: {error}"
    if not any(scores.values()):
        return {}, "no parameter of the search space varies, so there is nothing to rank"
    return scores, None


def _cell(value, *, text: bool = False) -> str:
    if value is None:
        return '<td data-sort=""></td>'
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = html.escape(str(value))
        return f'<td class="text" data-sort="{shown}">{shown}</td>'
    shown = f"{value:.5g}" if isinstance(value, float) else str(value)
    return f'<td data-sort="{value!r}">{shown}</td>'


def trial_table(trials, front, objectives: dict[str, str]) -> str:
    """One row per trial: objectives, test accuracy, NeuroBench's metrics that are not objectives
    (the columns of those some trial recorded), params and the error's first line."""
    from codesign.report.neurobench import neurobench_columns, neurobench_values

    params = sorted({k for t in trials for k in (t.params or {})})
    recorded = [neurobench_values(t) for t in trials]
    neurobench = [name for name in neurobench_columns(objectives) if any(name in values for values in recorded)]
    front_numbers = {t.number for t in front}
    headers = ["#", "state", "front"] + [f"{n} ({'max' if d == 'maximize' else 'min'})" for n, d in objectives.items()]
    headers += ["test_accuracy"] + neurobench + params + ["error"]
    out = ['<table id="trials" class="sortable"><thead><tr>']
    out += [f'<th title="click to sort">{html.escape(h)}</th>' for h in headers]
    out.append("</tr></thead><tbody>")
    for t, values in zip(trials, recorded):
        on_front = t.number in front_numbers
        cells = [_cell(t.number), _cell(t.state), _cell("yes" if on_front else "")]
        cells += [_cell((t.values or {}).get(name)) for name in objectives]
        cells.append(_cell((t.metrics or {}).get("test_accuracy")))
        cells += [_cell(values.get(name)) for name in neurobench]
        cells += [_cell((t.params or {}).get(name)) for name in params]
        cells.append(_cell(t.reason.splitlines()[0][:160] if t.reason else None))
        out.append(f'<tr class="{"front" if on_front else ""}">' + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def repeats_table(front, objectives: dict[str, str]) -> str:
    """Front configurations run more than once (`run.repeats`): the mean the front uses, the
    standard deviation and the range over the runs, per objective; empty when none was repeated."""
    repeated = [t for t in front if (t.metrics or {}).get("repeats", 1) > 1]
    if not repeated:
        return ""
    out = ['<h2 id="repeats">Repeated configurations on the front</h2><p class="meta">The front uses each '
           'configuration\'s mean over its runs (each run trained with its own seed); the spread is over those runs.</p>',
           '<table id="repeats-table" class="sortable"><thead><tr>']
    headers = ["#", "runs", "trials"] + [f"{n} {part}" for n in objectives for part in ("mean", "std", "min - max")]
    out += [f"<th>{html.escape(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for t in repeated:
        m = t.metrics
        cells = [_cell(t.number), _cell(m["repeats"]), _cell(", ".join(str(n) for n in m.get("repeat_numbers", [])))]
        for name in objectives:
            low, high = m.get("values_min", {}).get(name), m.get("values_max", {}).get(name)
            cells += [_cell((t.values or {}).get(name)), _cell(m.get("values_std", {}).get(name)),
                      _cell(None if low is None else f"{low:.5g} - {high:.5g}")]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render_html(study, figures: dict[str, bytes], notes: dict[str, str], data: dict) -> str:
    from codesign.study.results import best_values

    trials, front, objectives = data["trials"], data["front"], data["objectives"]
    states = {}
    for t in trials:
        states[t.state] = states.get(t.state, 0) + 1
    best = best_values(trials, objectives)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>codesign report: {html.escape(study.name)}</title>",
        f"<style>{CSS}</style><script>{JS}</script></head><body>",
        f"<h1>Study <code>{html.escape(study.name)}</code></h1>",
        f'<p class="meta">{html.escape(str(study.path))} &middot; seed {study.seed} &middot; {len(trials)} trials ('
        + ", ".join(f"{n} {html.escape(s)}" for s, n in sorted(states.items())) + f") &middot; {len(front)} on the Pareto front"
        + f" &middot; written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>",
        '<p class="meta">Objectives: ' + ", ".join(
            f"<b>{html.escape(n)}</b> ({html.escape(d)}, best {best[n]:.5g})" if n in best else f"<b>{html.escape(n)}</b> ({html.escape(d)})"
            for n, d in objectives.items()) + "</p>",
    ]
    for name in FIGURES:
        parts.append(f'<h2 id="{name}">{TITLES[name]}</h2>')
        if name in notes:
            parts.append(f'<p class="note">{html.escape(notes[name])}</p>')
        if name in figures:
            encoded = base64.b64encode(figures[name]).decode("ascii")
            parts.append(f'<figure><img id="figure-{name}" alt="{TITLES[name]}" src="data:image/png;base64,{encoded}"></figure>')
    parts.append('<h2 id="table">Trials</h2><p class="meta">Click a column header to sort; rows on the Pareto front are shaded.</p>')
    if "damaged" in notes:
        parts.append(f'<p class="note">Damaged rows {html.escape(notes["damaged"])}</p>')
    parts.append(trial_table(trials, front, objectives))
    parts.append(repeats_table(front, objectives))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(study_path, out, png_dir=None) -> dict:
    """Write the HTML report (atomically) and, with `png_dir`, each figure as a PNG; returns a summary.

    Both outputs are checked before anything is written, the figures are written first and the
    report last, and a failure removes the figures this call added: a refused report leaves the
    file system as it was."""
    from codesign.study.storage import Study

    out = check_output(out, "the report file")
    if not out.parent.is_dir():
        raise CodesignError(f"folder for the report {out} does not exist: {out.parent}")
    if png_dir is not None:
        png_dir = check_output(png_dir, "the figure folder", folder=True)
    with Study.open(study_path) as study:
        figures, notes, data = build_figures(study)
        damaged = study.damaged_rows()
        if damaged:
            notes["damaged"] = "left out of the study's figures and table: " + "; ".join(str(e) for e in damaged)
        text = render_html(study, figures, notes, data)
        n_trials = len(data["trials"])
    written: list[Path] = []
    try:
        if png_dir is not None:
            with parent_folders(png_dir / "figure.png"):
                png_dir.mkdir(exist_ok=True)
                for name, png in figures.items():
                    target = png_dir / f"{name}.png"
                    existed = target.exists()
                    write_file(target, png)
                    if not existed:
                        written.append(target)
        write_file(out, text.encode("utf-8"))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return {"out": str(out), "trials": n_trials, "figures": sorted(figures),
            "pngs": [str(png_dir / f"{name}.png") for name in figures] if png_dir is not None else [],
            "notes": [f"{TITLES.get(k, 'Study')}: {v}" for k, v in notes.items()]}


__all__ = ["build_figures", "parameter_importance", "render_html", "trial_table", "write_report"]
