"""Acquisition functions against independent oracles: EHVI against Monte Carlo over exact
hypervolume differences."""

import numpy as np
import pytest
import torch

from codesign.search.acquisition import ExpectedHypervolumeImprovement
from codesign.search.pareto import hypervolume, hypervolume_improvement, is_non_dominated


def random_front(rng, m, n=7):
    points = rng.random((n, m))
    return points[is_non_dominated(points)]


@pytest.mark.parametrize("m", [2, 3])
def test_box_improvement_is_the_hypervolume_difference(m):
    rng = np.random.default_rng(m)
    front, ref = random_front(rng, m), np.full(m, 1.2)
    points = rng.random((25, m)) * 1.4 - 0.1
    base = hypervolume(front, ref)
    brute = [hypervolume(np.vstack([front, p]), ref, outside="ignore") - base for p in points]
    assert np.allclose(hypervolume_improvement(points, front, ref), brute, atol=1e-12)


@pytest.mark.parametrize("m", [2, 3])
def test_ehvi_is_the_expected_hypervolume_improvement(m):
    """Closed form vs the mean hypervolume improvement of 200,000 Gaussian draws, per candidate."""
    rng = np.random.default_rng(10 + m)
    front, ref = random_front(rng, m), np.full(m, 1.2)
    mean = rng.random((4, m)) * 1.2
    std = rng.uniform(0.02, 0.4, size=(4, m))
    ehvi = ExpectedHypervolumeImprovement(front, ref)(torch.as_tensor(mean), torch.as_tensor(std)).numpy()
    for i in range(len(mean)):
        draws = mean[i] + std[i] * rng.standard_normal((200_000, m))
        improvement = hypervolume_improvement(draws, front, ref)
        standard_error = improvement.std() / np.sqrt(len(draws))
        assert abs(ehvi[i] - improvement.mean()) < 5 * standard_error + 1e-7
    assert (ehvi > 0).all()


def test_drop_near_matches_brute_force_max_norm():
    from codesign.search.acquisition import _drop_near

    rng = np.random.default_rng(0)
    exclude = rng.random((300, 4))
    X = np.vstack([rng.random((200, 4)), exclude[::7], exclude[:5] + 5e-10, exclude[:5] + 1e-6])
    brute = np.abs(X[:, None, :] - exclude[None]).max(axis=2).min(axis=1) > 1e-9
    assert np.array_equal(_drop_near(X, exclude), X[brute])
    assert brute.sum() == 200 + 5  # the copies and near-copies went, the 1e-6 moves stayed
