"""Pareto math: dominance, non-dominated sorting, hypervolume and the reference point.

Everything is computed on minimization values: `to_minimization` negates the columns whose
direction is "maximize", so callers keep their natural units and signs.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from codesign.errors import CodesignError

DIRECTIONS = ("minimize", "maximize")


def check_directions(directions: Sequence[str]) -> list[str]:
    """The directions as a list; an unknown one is an error naming it."""
    out = []
    for i, d in enumerate(directions):
        if d not in DIRECTIONS:
            raise CodesignError(f"objective #{i}: direction {d!r} is not one of {DIRECTIONS}")
        out.append(d)
    if not out:
        raise CodesignError("at least one objective direction is needed")
    return out


def _as_matrix(values, name: str = "values") -> np.ndarray:
    y = np.asarray(values, dtype=float)
    if y.ndim == 1:
        y = y.reshape(1, -1) if y.size else y.reshape(0, 0)
    if y.ndim != 2:
        raise CodesignError(f"{name} must be a 2-D array (points x objectives), got shape {y.shape}")
    if np.isnan(y).any():
        raise CodesignError(f"{name} contains NaN (row {int(np.argwhere(np.isnan(y))[0, 0])})")
    return y


def to_minimization(values, directions: Sequence[str] | None = None) -> np.ndarray:
    """Values (n, m) with "maximize" columns negated, so smaller is better everywhere."""
    y = _as_matrix(values)
    if directions is None:
        return y.copy()
    directions = check_directions(directions)
    if y.size and len(directions) != y.shape[1]:
        raise CodesignError(f"{len(directions)} directions for {y.shape[1]} objectives")
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return y * sign if y.size else y.copy()


def dominates(a, b) -> bool:
    """True when minimization point `a` is no worse than `b` everywhere and better somewhere."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return bool(np.all(a <= b) and np.any(a < b))


def _domination_matrix(y: np.ndarray) -> np.ndarray:
    """D[i, j] = point i dominates point j."""
    le = np.all(y[:, None, :] <= y[None, :, :], axis=2)
    lt = np.any(y[:, None, :] < y[None, :, :], axis=2)
    return le & lt


def non_dominated_sort(values, directions: Sequence[str] | None = None) -> list[np.ndarray]:
    """Fast non-dominated sort (Deb et al. 2002): fronts of indices, best front first."""
    y = to_minimization(values, directions)
    n = y.shape[0]
    if n == 0:
        return []
    dom = _domination_matrix(y)
    counts = dom.sum(axis=0)  # how many points dominate each point
    fronts = []
    current = np.flatnonzero(counts == 0)
    while current.size:
        fronts.append(current)
        counts = counts - dom[current].sum(axis=0)
        counts[current] = -1  # done
        current = np.flatnonzero(counts == 0)
    return fronts


def is_non_dominated(values, directions: Sequence[str] | None = None) -> np.ndarray:
    """Boolean mask of the first front (duplicates of a front point are all kept)."""
    y = to_minimization(values, directions)
    if y.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    if y.shape[0] <= 1000:
        return ~_domination_matrix(y).any(axis=0)
    # large sets: only lexicographically earlier points can dominate, so one pass over the
    # sorted points against the front found so far is enough (O(n * front) time, O(n) memory)
    order = np.lexsort(y.T[::-1])
    keep = np.zeros(y.shape[0], dtype=bool)
    front = np.empty((0, y.shape[1]))
    for i in order:
        p = y[i]
        if front.shape[0] and np.any(np.all(front <= p, axis=1) & np.any(front < p, axis=1)):
            continue
        keep[i] = True
        front = np.vstack([front, p])
    return keep


def reference_point(values, directions: Sequence[str] | None = None, margin: float = 0.1) -> np.ndarray:
    """A reference point just worse than the nadir of `values`: nadir + margin * (nadir - ideal)
    per objective (in the objectives' own units and signs). A zero range uses |nadir| (or 1)
    instead, so every point is strictly dominated by the result."""
    y = to_minimization(values, directions)
    if y.shape[0] == 0:
        raise CodesignError("reference_point: no values to take a nadir from")
    if not np.isfinite(y).all():
        raise CodesignError("reference_point: values must be finite")
    if margin <= 0:
        raise CodesignError(f"reference_point: margin={margin!r} must be > 0")
    nadir, ideal = y.max(axis=0), y.min(axis=0)
    span = nadir - ideal
    span = np.where(span > 0, span, np.where(np.abs(nadir) > 0, np.abs(nadir), 1.0))
    ref = nadir + margin * span
    if directions is not None:
        ref = ref * np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return ref


def _check_inside(y: np.ndarray, ref: np.ndarray, outside: str) -> np.ndarray:
    if outside not in ("error", "ignore"):
        raise CodesignError(f"hypervolume: outside={outside!r} must be 'error' or 'ignore'")
    beyond = np.any(y > ref, axis=1)
    if outside == "error" and beyond.any():
        i = int(np.flatnonzero(beyond)[0])
        raise CodesignError(
            f"hypervolume: point #{i} {y[i].tolist()} (minimization form) is worse than the reference point "
            f"{ref.tolist()} in some objective; pick a worse reference (see reference_point) or pass outside='ignore'"
        )
    # points on the reference boundary (or beyond, when ignored) add no volume
    return y[np.all(y < ref, axis=1)]


def _hv2(y: np.ndarray, ref: np.ndarray) -> float:
    order = np.argsort(y[:, 0], kind="stable")
    x, z = y[order, 0], np.minimum.accumulate(y[order, 1])
    widths = np.append(x[1:], ref[0]) - x
    return float(np.sum(widths * (ref[1] - z)))


def _hv(y: np.ndarray, ref: np.ndarray) -> float:
    """Exact volume dominated by `y` (all strictly inside ref): 2-D sweep, higher-D slicing."""
    if y.shape[0] == 0:
        return 0.0
    m = y.shape[1]
    if m == 1:
        return float(ref[0] - y[:, 0].min())
    y = y[is_non_dominated(y)]
    if m == 2:
        return _hv2(y, ref)
    order = np.argsort(y[:, -1], kind="stable")
    y = y[order]
    levels = np.append(y[1:, -1], ref[-1])
    total = 0.0
    for i in range(y.shape[0]):
        height = levels[i] - y[i, -1]
        if height > 0:
            total += height * _hv(y[: i + 1, :-1], ref[:-1])
    return total


def hypervolume(values, ref, directions: Sequence[str] | None = None, outside: str = "error") -> float:
    """Volume dominated by `values` and bounded by `ref` (both in the objectives' own units).

    Exact for any number of objectives (2-D sweep; 3-D and up by slicing, fine for the few
    hundred points a study has). A point worse than `ref` in some objective raises, because it
    would otherwise count silently as zero; `outside="ignore"` drops such points on purpose.
    """
    y = to_minimization(values, directions)
    r = to_minimization(np.asarray(ref, dtype=float).reshape(1, -1), directions)[0]
    if y.shape[0] == 0:
        return 0.0
    if y.shape[1] != r.shape[0]:
        raise CodesignError(f"hypervolume: reference point has {r.shape[0]} objectives, values have {y.shape[1]}")
    if not np.isfinite(r).all():
        raise CodesignError(f"hypervolume: reference point {r.tolist()} must be finite")
    return _hv(_check_inside(y, r, outside), r)


def nondominated_boxes(front, ref) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint boxes (lower, upper), each (k, m), covering the part of the box below `ref` that
    no point of `front` dominates (minimization; lower bounds may be -inf).

    Grid cells over the first m-1 objectives at the front's coordinates; within a cell, the
    undominated part is everything below the smallest last-objective value of the points that
    dominate the cell's lower corner. (k+1)^(m-1) boxes: meant for m <= 3.
    """
    p = _as_matrix(front, "front")
    r = np.asarray(ref, dtype=float).reshape(-1)
    m = r.shape[0]
    p = p[np.all(p < r, axis=1)] if p.size else np.zeros((0, m))
    axes = [np.concatenate(([-np.inf], np.unique(p[:, j]), [r[j]])) for j in range(m - 1)]
    cells = list(itertools.product(*[range(len(a) - 1) for a in axes]))
    lower = np.array([[axes[j][c[j]] for j in range(m - 1)] for c in cells]).reshape(len(cells), m - 1)
    upper = np.array([[axes[j][c[j] + 1] for j in range(m - 1)] for c in cells]).reshape(len(cells), m - 1)
    if p.shape[0]:
        covers = np.all(p[None, :, : m - 1] <= lower[:, None, :], axis=2)  # (cells, points)
        tops = np.where(covers, p[None, :, m - 1], np.inf).min(axis=1)
        top = np.minimum(tops, r[m - 1])
    else:
        top = np.full(len(cells), r[m - 1])
    lo = np.hstack([lower, np.full((len(cells), 1), -np.inf)])
    hi = np.hstack([upper, top[:, None]])
    keep = np.all(hi > lo, axis=1)
    return lo[keep], hi[keep]


def hypervolume_improvement(points, front, ref) -> np.ndarray:
    """How much hypervolume each minimization point (n, m) would add to `front`, one at a time."""
    y = _as_matrix(points, "points")
    lo, hi = nondominated_boxes(front, ref)
    extent = np.clip(hi[None, :, :] - np.maximum(lo[None, :, :], y[:, None, :]), 0.0, None)
    return extent.prod(axis=2).sum(axis=1)
