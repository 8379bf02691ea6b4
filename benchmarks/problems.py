"""Multi-objective test problems for `bench_optimizer.py` (benchmark-only; all minimized on [0, 1]^d).

Each problem carries the reference point its hypervolume is measured against and the
maximal hypervolume reachable with it, stated with how it was obtained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Problem:
    name: str
    dim: int
    objectives: tuple[str, ...]
    ref_point: tuple[float, ...]
    max_hv: float
    max_hv_source: str
    function: Callable[[np.ndarray], np.ndarray]  # x in [0,1]^dim -> objective vector (minimized)

    def __call__(self, x) -> np.ndarray:
        return self.function(np.asarray(x, dtype=float))


def branin_currin(x: np.ndarray) -> np.ndarray:
    """Branin and Currin (Belakaria et al. 2019), both on the unit square."""
    u, v = 15.0 * x[0] - 5.0, 15.0 * x[1]
    branin = (v - 5.1 / (4 * math.pi**2) * u**2 + 5.0 / math.pi * u - 6.0) ** 2
    branin += 10.0 * (1.0 - 1.0 / (8.0 * math.pi)) * math.cos(u) + 10.0
    a, b = x[0], x[1]
    factor = 1.0 - math.exp(-1.0 / (2.0 * b)) if b > 0 else 1.0
    currin = factor * (2300 * a**3 + 1900 * a**2 + 2092 * a + 60) / (100 * a**3 + 500 * a**2 + 4 * a + 20)
    return np.array([branin, currin])


def zdt1(x: np.ndarray) -> np.ndarray:
    """ZDT1 (Zitzler, Deb, Thiele 2000): convex front f2 = 1 - sqrt(f1) where x[1:] = 0."""
    f1 = x[0]
    g = 1.0 + 9.0 * np.sum(x[1:]) / (len(x) - 1)
    return np.array([f1, g * (1.0 - math.sqrt(f1 / g))])


def dtlz2(x: np.ndarray, n_objectives: int = 3) -> np.ndarray:
    """DTLZ2 (Deb et al. 2002): front is the positive octant of the unit sphere, where x[m-1:] = 0.5."""
    m = n_objectives
    g = float(np.sum((x[m - 1 :] - 0.5) ** 2))
    f = np.full(m, 1.0 + g)
    for i in range(m):
        for j in range(m - 1 - i):
            f[i] *= math.cos(x[j] * math.pi / 2)
        if i > 0:
            f[i] *= math.sin(x[m - 1 - i] * math.pi / 2)
    return f


PROBLEMS = {
    "BraninCurrin": Problem(
        "BraninCurrin", 2, ("branin", "currin"), (18.0, 6.0), 59.36011874867746,
        "BoTorch's BraninCurrin._max_hv for this reference point; check_max_hv() recomputes it from a dense grid",
        branin_currin,
    ),
    "ZDT1": Problem(
        "ZDT1", 6, ("f1", "f2"), (1.1, 1.1), 1.1 * 1.1 - 1.0 / 3.0,
        "analytic: box 1.1^2 minus the area 1/3 under the front f2 = 1 - sqrt(f1)",
        zdt1,
    ),
    "DTLZ2": Problem(
        "DTLZ2", 6, ("f1", "f2", "f3"), (1.1, 1.1, 1.1), 1.1**3 - math.pi / 6.0,
        "analytic: box 1.1^3 minus the unit-sphere octant pi/6 the front bounds",
        dtlz2,
    ),
}


def check_max_hv(problem: Problem, points_per_axis: int = 1500) -> float:
    """Hypervolume of the non-dominated part of a dense grid (2-D problems): a lower bound
    on the max that approaches it from below as the grid is refined."""
    from codesign.search.pareto import hypervolume, is_non_dominated

    if problem.dim != 2:
        raise ValueError("check_max_hv grids 2-D problems only")
    t = np.linspace(0.0, 1.0, points_per_axis)
    Y = np.array([problem(np.array([a, b])) for a in t for b in t])
    Y = Y[is_non_dominated_chunked(Y, is_non_dominated)]
    return hypervolume(Y, problem.ref_point, outside="ignore")


def is_non_dominated_chunked(Y: np.ndarray, is_non_dominated) -> np.ndarray:
    """Non-dominated mask of a large 2-D set: sort by f1, keep strict running minima of f2."""
    order = np.lexsort((Y[:, 1], Y[:, 0]))
    best = np.inf
    keep = np.zeros(len(Y), dtype=bool)
    for i in order:
        if Y[i, 1] < best:
            keep[i] = True
            best = Y[i, 1]
    return keep
