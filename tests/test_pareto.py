"""Pareto math against brute-force oracles."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.errors import CodesignError
from codesign.search.pareto import (
    dominates,
    hypervolume,
    hypervolume_improvement,
    is_non_dominated,
    non_dominated_sort,
    nondominated_boxes,
    reference_point,
    to_minimization,
)


def brute_force_fronts(y: np.ndarray) -> list[set]:
    remaining = set(range(len(y)))
    fronts = []
    while remaining:
        front = {i for i in remaining if not any(dominates(y[j], y[i]) for j in remaining if j != i)}
        fronts.append(front)
        remaining -= front
    return fronts


def grid_oracle_hv(y: np.ndarray, ref: np.ndarray) -> float:
    """Exact volume by the grid the points' own coordinates induce: each cell is either
    dominated (its lower corner is weakly dominated by some point) or not."""
    axes = [np.unique(np.append(y[:, j][y[:, j] < ref[j]], ref[j])) for j in range(y.shape[1])]
    axes = [np.concatenate(([a.min() if a.size else r], a)) for a, r in zip(axes, ref)]
    total = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        lower = np.array([axes[j][c] for j, c in enumerate(cell)])
        upper = np.array([axes[j][c + 1] for j, c in enumerate(cell)])
        if np.any(np.all(y <= lower, axis=1)):
            total += float(np.prod(upper - lower))
    return total


points = st.integers(0, 2**32 - 1)


@settings(max_examples=40, deadline=None)
@given(points, st.integers(1, 25), st.integers(2, 4))
def test_non_dominated_sort_matches_brute_force(seed, n, m):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, size=(n, m)).astype(float)  # small integers: many ties and duplicates
    fronts = non_dominated_sort(y)
    assert [set(f.tolist()) for f in fronts] == brute_force_fronts(y)
    assert set(fronts[0].tolist()) == set(np.flatnonzero(is_non_dominated(y)).tolist())


@settings(max_examples=40, deadline=None)
@given(points, st.integers(1, 12), st.sampled_from([2, 3]))
def test_hypervolume_matches_grid_oracle(seed, n, m):
    rng = np.random.default_rng(seed)
    y = rng.random((n, m))
    ref = np.full(m, 1.2)
    assert hypervolume(y, ref) == pytest.approx(grid_oracle_hv(y, ref), rel=1e-10, abs=1e-12)


def test_hypervolume_matches_monte_carlo_in_four_objectives():
    rng = np.random.default_rng(3)
    y = rng.random((10, 4))
    ref = np.ones(4)
    samples = rng.random((200_000, 4))
    dominated = np.zeros(len(samples), dtype=bool)
    for p in y:
        dominated |= np.all(samples >= p, axis=1)
    assert hypervolume(y, ref) == pytest.approx(dominated.mean(), abs=0.005)


def test_hypervolume_known_values_and_directions():
    assert hypervolume([[1.0, 2.0], [2.0, 1.0]], [3.0, 3.0]) == pytest.approx(3.0)
    # accuracy maximized, energy minimized: negate accuracy internally
    hv = hypervolume([[0.9, 2.0], [0.8, 1.0]], [0.0, 3.0], directions=["maximize", "minimize"])
    assert hv == pytest.approx(0.9 * 1.0 + 0.8 * 1.0)
    unit_cube = hypervolume([[0.0, 0.0, 0.0]], [1.0, 1.0, 1.0])
    assert unit_cube == pytest.approx(1.0)


def test_point_outside_reference_is_an_error_not_zero():
    with pytest.raises(CodesignError, match="point #1"):
        hypervolume([[1.0, 1.0], [5.0, 0.5]], [3.0, 3.0])
    assert hypervolume([[1.0, 1.0], [5.0, 0.5]], [3.0, 3.0], outside="ignore") == pytest.approx(4.0)


def test_reference_point_strictly_dominated_by_every_point():
    rng = np.random.default_rng(0)
    values = rng.random((20, 3)) * [1, 10, 100]
    directions = ["maximize", "minimize", "minimize"]
    ref = reference_point(values, directions)
    y, r = to_minimization(values, directions), to_minimization(ref[None], directions)[0]
    assert np.all(y < r)
    assert hypervolume(values, ref, directions) > 0
    same = reference_point([[2.0, 0.0], [2.0, 0.0]])  # zero range still gives room
    assert np.all(same > [2.0, 0.0])


@settings(max_examples=30, deadline=None)
@given(points, st.integers(0, 10), st.sampled_from([2, 3]))
def test_boxes_give_exact_hypervolume_improvement(seed, n, m):
    rng = np.random.default_rng(seed)
    front = rng.random((n, m))
    ref = np.full(m, 1.1)
    lo, hi = nondominated_boxes(front, ref)
    assert np.all(hi > lo)
    candidates = rng.random((5, m)) * 1.2 - 0.1
    base = hypervolume(front, ref, outside="ignore")
    expected = [hypervolume(np.vstack([front, c]), ref, outside="ignore") - base for c in candidates]
    assert hypervolume_improvement(candidates, front, ref) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: to_minimization([[1.0, 2.0]], ["minimize", "upward"]), "'upward'"),
        (lambda: hypervolume([[float("nan"), 1.0]], [2.0, 2.0]), "NaN"),
        (lambda: hypervolume([[1.0, 1.0]], [2.0, 2.0, 2.0]), "3 objectives"),
        (lambda: reference_point(np.zeros((0, 2))), "no values"),
    ],
)
def test_bad_pareto_input(call, match):
    with pytest.raises(CodesignError, match=match):
        call()
