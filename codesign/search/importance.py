"""Parameter importance read off a fitted GP surrogate, per parameter (not per model column).

Two views, because they answer different questions: inverse ARD lengthscales say how fast
the model varies along a parameter (cheap, but blind to how much output that variation
carries); first-order Sobol indices of the GP mean say what share of the predicted output
variance a parameter explains on its own.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import qmc

from codesign.search.space import Space
from codesign.search.surrogate import GPSurrogate


def _normalize(scores: dict[str, float]) -> dict[str, float]:
    total = sum(scores.values())
    if not total > 0:
        return {k: 1.0 / len(scores) for k in scores}
    return {k: v / total for k, v in scores.items()}


def ard_importance(gp: GPSurrogate, space: Space) -> dict[str, float]:
    """Inverse lengthscales summed over each parameter's model columns, normalized."""
    inverse = 1.0 / np.asarray(gp.hyper.lengthscale, dtype=float)
    return _normalize({name: float(inverse[sl].sum()) for name, sl in space.model_slices().items()})


def sobol_importance(gp: GPSurrogate, space: Space, rng: np.random.Generator, n_samples: int = 1024) -> dict[str, float]:
    """First-order Sobol indices of the GP mean over the parameter cube (Saltelli 2010's
    pick-freeze estimator on a scrambled Sobol design), clipped at 0 and normalized."""
    k = space.cube_dim
    design = qmc.Sobol(2 * k, scramble=True, seed=rng).random(int(n_samples))
    A, B = design[:, :k], design[:, k:]

    def f(U: np.ndarray) -> np.ndarray:
        X = np.stack([space.to_unit(space.from_cube(u)) for u in U])
        return gp.predict(torch.as_tensor(X, dtype=torch.float64))[0].numpy()

    fA, fB = f(A), f(B)
    variance = np.var(np.concatenate([fA, fB]))
    scores = {}
    for i, name in enumerate(space.free_names):
        ABi = A.copy()
        ABi[:, i] = B[:, i]
        fABi = f(ABi)
        scores[name] = max(0.0, float(np.mean(fB * (fABi - fA)) / variance)) if variance > 0 else 0.0
    return _normalize(scores)
