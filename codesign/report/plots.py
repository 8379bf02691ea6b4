"""The report's figures, drawn with matplotlib's Agg backend (no display needed) and returned as PNG bytes.

Each function takes plain data (trials, objectives) and returns PNG bytes, or None with
nothing to draw, so the report can say why a figure is missing instead of failing.
"""

from __future__ import annotations

import io
import itertools
import math

import numpy as np

STATE_COLORS = {
    "complete": "#1f77b4",
    "infeasible": "#ff7f0e",
    "failed": "#7f7f7f",
    "pruned": "#9467bd",
    "running": "#17becf",
    "pending": "#bcbd22",
}
FRONT_COLOR = "#d62728"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def _label(name: str, direction: str | None = None) -> str:
    return name if direction is None else f"{name} ({'max' if direction == 'maximize' else 'min'})"


def _spans_decades(values, decades: float = 1.5) -> bool:
    """Positive values spread over more than `decades` orders of magnitude read better on a log axis
    (energy per inference routinely does: the front crowds into one corner otherwise)."""
    values = [v for v in values if v is not None]
    return bool(values) and min(values) > 0 and math.log10(max(values) / min(values)) > decades


def pareto_figure(trials, front, objectives: dict[str, str]) -> bytes | None:
    """Every trial with objective values, colored by state; the front ringed in red (a step line in 2-D).
    Three or more objectives: one panel per pair."""
    names = list(objectives)
    with_values = [t for t in trials if t.values and all(n in t.values for n in names)]
    if not with_values:
        return None
    plt = _pyplot()
    front_numbers = {t.number for t in front}
    pairs = list(itertools.combinations(names, 2)) or [(None, names[0])]
    columns = min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.2 * rows), squeeze=False)
    for ax, (x_name, y_name) in zip(axes.flat, pairs):
        for state in STATE_COLORS:
            group = [t for t in with_values if t.state == state]
            if group:
                xs = [t.number if x_name is None else t.values[x_name] for t in group]
                ax.scatter(xs, [t.values[y_name] for t in group], s=28, c=STATE_COLORS[state], label=state, alpha=0.8)
        on_front = sorted((t for t in with_values if t.number in front_numbers),
                          key=lambda t: t.number if x_name is None else t.values[x_name])
        if on_front:
            xs = [t.number if x_name is None else t.values[x_name] for t in on_front]
            ys = [t.values[y_name] for t in on_front]
            ax.scatter(xs, ys, s=110, facecolors="none", edgecolors=FRONT_COLOR, linewidths=1.8, label="Pareto front")
            if len(names) == 2:
                ax.step(xs, ys, where="post", color=FRONT_COLOR, alpha=0.5, linewidth=1)
            for t, x, y in zip(on_front, xs, ys):
                ax.annotate(f"#{t.number}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_xlabel("trial" if x_name is None else _label(x_name, objectives[x_name]))
        ax.set_ylabel(_label(y_name, objectives[y_name]))
        if x_name is not None and _spans_decades([t.values[x_name] for t in with_values]):
            ax.set_xscale("log")
        if _spans_decades([t.values[y_name] for t in with_values]):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="best")
    fig.suptitle("Pareto front" + (" (pairwise projections)" if len(pairs) > 1 else ""))
    return _png(fig)


def hypervolume_figure(numbers: list[int], volumes: list[float]) -> bytes | None:
    if not numbers:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.plot(numbers, volumes, marker="o", markersize=3, drawstyle="steps-post", color="#2ca02c")
    ax.set_xlabel("evaluation (trial number)")
    ax.set_ylabel("hypervolume")
    ax.set_title("Hypervolume of the front after each evaluation")
    ax.grid(alpha=0.3)
    return _png(fig)


def importance_figure(importance: dict[str, dict[str, float]]) -> bytes | None:
    if not importance:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(importance), figsize=(4.6 * len(importance), 0.35 * max(len(v) for v in importance.values()) + 1.8),
                             squeeze=False)
    for ax, (objective, scores) in zip(axes.flat, importance.items()):
        ordered = sorted(scores.items(), key=lambda item: item[1])
        ax.barh([name for name, _ in ordered], [value for _, value in ordered], color="#1f77b4")
        ax.set_xlim(0, max(1e-9, max(v for _, v in ordered)) * 1.1)
        ax.set_title(objective, fontsize=10)
        ax.set_xlabel("importance (share)")
        ax.tick_params(axis="y", labelsize=8)
    fig.subplots_adjust(wspace=0.7)
    fig.suptitle("Parameter importance per objective (GP surrogate)", y=1.04)
    return _png(fig)


def parallel_coordinates_figure(trials, front, objectives: dict[str, str]) -> bytes | None:
    """One line per trial across the parameters that vary and the objectives, each axis scaled to [0, 1]."""
    if not trials:
        return None
    params = sorted({k for t in trials for k in (t.params or {})})
    axes_spec = []
    for name in params:
        raw = [t.params.get(name) for t in trials]
        present = [v for v in raw if v is not None]
        if len({repr(v) for v in present}) <= 1:
            continue
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
        if numeric:
            low, high = min(present), max(present)
            axes_spec.append((name, lambda v, lo=low, hi=high: None if v is None else (v - lo) / ((hi - lo) or 1), (low, high), None))
        else:
            levels = sorted({str(v) for v in present})
            axes_spec.append((name, lambda v, lv=levels: None if v is None else lv.index(str(v)) / max(1, len(lv) - 1), None, levels))
    for name, direction in objectives.items():
        present = [t.values[name] for t in trials if t.values and name in t.values]
        if not present:
            continue
        low, high = min(present), max(present)
        axes_spec.append((_label(name, direction), lambda v, lo=low, hi=high: None if v is None else (v - lo) / ((hi - lo) or 1),
                          (low, high), "objective:" + name))
    if len(axes_spec) < 2:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6.5, 1.5 * len(axes_spec)), 4.4))
    front_numbers = {t.number for t in front}
    for t in sorted(trials, key=lambda t: (t.number in front_numbers, t.number)):
        ys = []
        for name, scale, _, tag in axes_spec:
            if isinstance(tag, str) and tag.startswith("objective:"):
                value = (t.values or {}).get(tag.split(":", 1)[1])
            else:
                value = (t.params or {}).get(name)
            ys.append(scale(value) if value is not None else np.nan)
        on_front = t.number in front_numbers
        ax.plot(range(len(axes_spec)), ys, color=FRONT_COLOR if on_front else STATE_COLORS.get(t.state, "#999999"),
                alpha=0.9 if on_front else 0.45, linewidth=2.2 if on_front else 1.0, marker="o", markersize=2.5)
    for index, (_, _, span, extra) in enumerate(axes_spec):
        ax.axvline(index, color="black", linewidth=0.6)
        if span is not None:
            ax.annotate(f"{span[1]:.3g}", (index, 1.0), textcoords="offset points", xytext=(2, 3), fontsize=7)
            ax.annotate(f"{span[0]:.3g}", (index, 0.0), textcoords="offset points", xytext=(2, -9), fontsize=7)
        elif isinstance(extra, list):
            for level_index, level in enumerate(extra):
                ax.annotate(level, (index, level_index / max(1, len(extra) - 1)), textcoords="offset points",
                            xytext=(2, 2), fontsize=7)
    ax.set_xticks(range(len(axes_spec)))
    ax.set_xticklabels([spec[0] for spec in axes_spec], rotation=25, ha="right", fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.08, 1.08)
    ax.set_title("Trials in parallel coordinates (front in red, others by state)")
    return _png(fig)
