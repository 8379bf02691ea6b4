"""Acquisition functions as small callables on posterior (mean, std), plus their optimizer.

Kept apart from the model (BoTorch style): each acquisition takes the posterior mean and
standard deviation of the minimization-signed objectives, shape (q, m), and returns one
score per candidate, so they compose by multiplication (EHVI x probability of feasibility
x probability of not crashing) and are testable without a GP.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.optimize import minimize
from scipy.spatial import cKDTree
from scipy.stats import qmc

from codesign.search.pareto import nondominated_boxes
from codesign.search.space import Categorical, Real, Space

DTYPE = torch.float64
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_cdf(z: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-z / _SQRT2)


def normal_pdf(z: torch.Tensor) -> torch.Tensor:
    return _INV_SQRT_2PI * torch.exp(-0.5 * z * z)


class ExpectedHypervolumeImprovement:
    """Exact EHVI for independent Gaussian objectives (minimization), any m (boxes grow as k^(m-1)).

    The region the front does not dominate is cut into boxes [l, u]; a point y adds
    prod_j max(0, u_j - max(l_j, y_j)) per box, and with independent objectives the
    expectation factorizes into 1-D closed forms (Yang et al. 2019's idea, simpler boxes).
    """

    def __init__(self, front: np.ndarray, ref: np.ndarray):
        lower, upper = nondominated_boxes(np.asarray(front, float).reshape(-1, len(ref)), ref)
        # an unbounded lower side behaves exactly like one far below everything (P(Y < l) = 0)
        floor = np.nanmin(np.where(np.isfinite(lower), lower, np.nan), initial=0.0) if lower.size else 0.0
        lower = np.where(np.isfinite(lower), lower, min(floor, float(np.min(upper, initial=0.0))) - 1e6)
        self.lower = torch.as_tensor(lower, dtype=DTYPE)
        self.upper = torch.as_tensor(upper, dtype=DTYPE)
        self.ref = torch.as_tensor(np.asarray(ref, float), dtype=DTYPE)
        # the boxes come from a grid, so along each axis only a few (lower, upper) intervals
        # occur: the 1-D expectations are computed once per distinct interval, then gathered
        self.intervals = []
        for j in range(lower.shape[1]):
            pairs, index = np.unique(np.stack([lower[:, j], upper[:, j]], axis=1), axis=0, return_inverse=True)
            self.intervals.append((torch.as_tensor(pairs[:, 0], dtype=DTYPE), torch.as_tensor(pairs[:, 1], dtype=DTYPE),
                                   torch.as_tensor(index.reshape(-1), dtype=torch.long)))

    def __call__(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        s = std.clamp_min(1e-9)
        volume = None
        for j, (lo, hi, index) in enumerate(self.intervals):
            mu, sj = mean[:, j : j + 1], s[:, j : j + 1]  # (q, 1) against (intervals,)
            alpha, beta = (lo - mu) / sj, (hi - mu) / sj
            cdf_a, cdf_b = normal_cdf(alpha), normal_cdf(beta)
            # E[max(0, u - max(l, Y))] = (u - l) P(Y < l) + E[(u - Y) 1{l < Y < u}]
            per_interval = (hi - lo) * cdf_a + (hi - mu) * (cdf_b - cdf_a) + sj * (normal_pdf(beta) - normal_pdf(alpha))
            per_box = per_interval.clamp_min(0.0)[:, index]  # (q, boxes)
            volume = per_box if volume is None else volume * per_box
        return volume.sum(dim=1)


class ExpectedImprovement:
    """EI below `best` for one minimized output (column 0 of mean/std)."""

    def __init__(self, best: float):
        self.best = float(best)

    def __call__(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        mu, s = mean[:, 0], std[:, 0].clamp_min(1e-9)
        z = (self.best - mu) / s
        return (self.best - mu) * normal_cdf(z) + s * normal_pdf(z)


class ProbabilityOfFeasibility:
    """P(all constraints hold) for independent Gaussian constraint outputs.

    `bounds[j]` and `upper[j]`: output j must stay below (upper) or above (not upper) bounds[j]."""

    def __init__(self, bounds: Sequence[float], upper: Sequence[bool]):
        self.bounds = torch.as_tensor(np.asarray(bounds, float), dtype=DTYPE)
        self.sign = torch.as_tensor([1.0 if u else -1.0 for u in upper], dtype=DTYPE)

    def __call__(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        if mean.shape[1] == 0:
            return torch.ones(mean.shape[0], dtype=DTYPE)
        z = self.sign * (self.bounds - mean) / std.clamp_min(1e-9)
        return normal_cdf(z).prod(dim=1)


def augmented_chebyshev(y: np.ndarray, weights: np.ndarray, rho: float = 0.05) -> np.ndarray:
    """ParEGO's scalarization of normalized minimization values (n, m): max_j w_j y_j + rho sum_j w_j y_j."""
    wy = y * weights[None, :]
    return wy.max(axis=1) + rho * wy.sum(axis=1)


def random_simplex_weights(rng: np.random.Generator, m: int) -> np.ndarray:
    """A uniform draw from the probability simplex (ParEGO's random weight vector)."""
    w = rng.exponential(size=m)
    return w / w.sum()


# --- optimizing an acquisition over the mixed space ---

def _perturb(space: Space, X: np.ndarray, rng: np.random.Generator, sigma: float, flip: float) -> np.ndarray:
    """Local moves in model space: Gaussian steps on numeric columns, random re-draws of
    categoricals with probability `flip`; the caller projects the result to valid params."""
    X = X.copy()
    for name, sl in space.model_slices().items():
        dim = space[name]
        if isinstance(dim, Categorical):
            redraw = rng.random(X.shape[0]) < flip
            if redraw.any():
                picks = rng.integers(0, dim.n_model, size=int(redraw.sum()))
                block = np.zeros((int(redraw.sum()), dim.n_model))
                block[np.arange(block.shape[0]), picks] = 1.0
                X[redraw, sl] = block
        else:
            X[:, sl] = np.clip(X[:, sl] + sigma * rng.standard_normal((X.shape[0], 1)), 0.0, 1.0)
    return X


def optimize_acquisition(
    score: Callable[[torch.Tensor], torch.Tensor],
    space: Space,
    rng: np.random.Generator,
    exclude: np.ndarray,
    anchors: np.ndarray | None = None,
    keep_away: np.ndarray | None = None,
    keep_away_radius: float = 0.0,
    n_candidates: int = 1024,
    n_local: int = 5,
    local_rounds: int = 3,
    local_samples: int = 32,
    gradient_steps: int = 40,
    local_radius: float | None = None,
    anchor_scales: Sequence[float] = (0.05,),
) -> tuple[np.ndarray, float]:
    """Maximize `score` (model-space points (q, d) -> (q,), torch, differentiable) over valid params.

    Scores a scrambled Sobol design of the parameter cube plus perturbations of `anchors`
    (e.g. the current Pareto set); the best few are refined by L-BFGS-B on their continuous
    columns (autograd through the GP posterior), then by shrinking random perturbations of
    every column (integers and one-hot categoricals move only this way and stay valid).
    Points within 1e-9 of `exclude` (observed or pending) are never returned, nor points within
    `keep_away_radius` (max-norm) of `keep_away` (a batch's pending members: no near-duplicates).
    With `local_radius` (and anchors) the search is local: no global design, only the anchors'
    perturbations (several scales) are scored, and gradient steps stay within `local_radius`
    of their start; it keeps BO from spending every step at the cube's uncertain corners.
    Returns (point, its score).
    """

    local = local_radius is not None and anchors is not None and len(anchors) > 0

    def drop(X: np.ndarray) -> np.ndarray:
        return _drop_near(_drop_near(X, exclude), keep_away, keep_away_radius)

    X = _candidates(space, rng, drop, anchors, n_candidates, anchor_scales, global_design=not local)
    if X.shape[0] == 0:  # every candidate was excluded: any unseen point will do
        return np.stack([space.to_unit(space.sample(rng, 1)[0])])[0], 0.0
    s = _score_numpy(score, X)
    top = np.argsort(-s, kind="stable")[:n_local]
    best_X, best_s = X[top].copy(), s[top].copy()
    if gradient_steps > 0:
        _refine_by_gradient(score, space, best_X, best_s, drop, gradient_steps, local_radius if local else None)
    _refine_by_perturbation(score, space, rng, best_X, best_s, drop, local_rounds, local_samples)
    k = int(np.argmax(best_s))
    return best_X[k], float(best_s[k])


def _score_numpy(score: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return score(torch.as_tensor(X, dtype=DTYPE)).numpy()


def _candidates(space: Space, rng: np.random.Generator, drop: Callable, anchors, n_candidates: int,
                anchor_scales: Sequence[float], global_design: bool) -> np.ndarray:
    """The starting set: a scrambled Sobol design of the cube (unless the search is local) plus
    perturbations of the anchors at each scale, minus duplicates and excluded points; random
    draws when nothing is left."""
    if global_design:
        sobol = qmc.Sobol(space.cube_dim, scramble=True, seed=rng)
        n_pow = max(1, int(math.ceil(math.log2(max(2, n_candidates)))))
        U = sobol.random_base2(n_pow)[:n_candidates]
        X = space.cube_to_unit(U)
    else:
        X = np.zeros((0, space.model_dim))
    if anchors is not None and len(anchors):
        # local candidates around the anchors at several scales (trust-region-like)
        anchors = np.asarray(anchors, float)
        per = max(1, n_candidates // (max(4, len(anchor_scales)) * len(anchors)))
        reps = np.repeat(anchors, per, axis=0)
        around = [_project(space, _perturb(space, reps, rng, sigma, 0.2)) for sigma in anchor_scales]
        X = np.vstack([X] + around)
    X = drop(_unique_rows(X))
    if X.shape[0] == 0:
        X = drop(_project(space, np.stack([space.to_unit(p) for p in space.sample(rng, 256)])))
    return X


def _refine_by_gradient(score, space: Space, best_X: np.ndarray, best_s: np.ndarray, drop: Callable,
                        steps: int, radius: float | None) -> None:
    """L-BFGS-B on the continuous columns of every start; a start keeps its refinement only if it
    scores higher and is not excluded (in place)."""
    columns = continuous_columns(space)
    if not columns.size:
        return
    refined = _project(space, _gradient_refine(score, best_X, columns, steps, radius))
    keep = drop(refined)
    if not keep.shape[0]:
        return
    ok = np.array([any(np.array_equal(r, k) for k in keep) for r in refined])
    rs = np.where(ok, _score_numpy(score, refined), -np.inf)
    better = rs > best_s
    best_X[better], best_s[better] = refined[better], rs[better]


def _refine_by_perturbation(score, space: Space, rng: np.random.Generator, best_X: np.ndarray,
                            best_s: np.ndarray, drop: Callable, rounds: int, samples: int) -> None:
    """Shrinking random perturbations of every column around each start (integers and one-hot
    categoricals move only this way and stay valid); improvements replace the start (in place)."""
    for round_ in range(rounds):
        sigma = 0.05 * (0.5**round_)
        # every start's perturbations scored in one call (scoring is overhead-bound at these sizes)
        cands = [
            drop(_unique_rows(_project(space, _perturb(space, np.repeat(best_X[i : i + 1], samples, axis=0), rng, sigma, 0.15))))
            for i in range(best_X.shape[0])
        ]
        sizes = [c.shape[0] for c in cands]
        if not sum(sizes):
            continue
        scores = np.split(_score_numpy(score, np.vstack(cands)), np.cumsum(sizes)[:-1])
        for i, (cand, cs) in enumerate(zip(cands, scores)):
            if cand.shape[0] == 0:
                continue
            j = int(np.argmax(cs))
            if cs[j] > best_s[i]:
                best_X[i], best_s[i] = cand[j], cs[j]


def continuous_columns(space: Space) -> np.ndarray:
    """Model-space columns of Real parameters: the ones a gradient step may move freely."""
    cols = [sl.start for name, sl in space.model_slices().items() if isinstance(space[name], Real)]
    return np.array(cols, dtype=int)


def _gradient_refine(score, X0: np.ndarray, columns: np.ndarray, steps: int, radius: float | None = None) -> np.ndarray:
    """L-BFGS-B on the continuous columns of every start at once (the summed score is separable)."""
    X0 = np.asarray(X0, float)
    k, c = X0.shape[0], columns.size
    base = torch.as_tensor(X0, dtype=DTYPE)
    cols = torch.as_tensor(columns)

    def objective(z: np.ndarray):
        Z = torch.as_tensor(z.reshape(k, c), dtype=DTYPE).requires_grad_(True)
        X = base.clone()
        X[:, cols] = Z
        value = -score(X).sum()
        value.backward()
        return float(value.detach()), Z.grad.numpy().reshape(-1).astype(float)

    z0 = X0[:, columns].reshape(-1)
    try:
        bounds = [(0.0, 1.0)] * z0.size if radius is None else [(max(0.0, z - radius), min(1.0, z + radius)) for z in z0]
        result = minimize(objective, z0, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": steps})
        z = np.clip(result.x, 0.0, 1.0)
    except (ValueError, RuntimeError):  # a non-finite gradient: keep the starts
        z = z0
    out = X0.copy()
    out[:, columns] = z.reshape(k, c)
    return out


def _project(space: Space, X: np.ndarray) -> np.ndarray:
    return space.project(X)


def _unique_rows(X: np.ndarray) -> np.ndarray:
    _, idx = np.unique(np.round(X, 12), axis=0, return_index=True)
    return X[np.sort(idx)]


def _drop_near(X: np.ndarray, exclude: np.ndarray | None, tol: float = 1e-9) -> np.ndarray:
    if exclude is None or len(exclude) == 0 or X.shape[0] == 0:
        return X
    nearest, _ = cKDTree(np.asarray(exclude, dtype=float)).query(X, k=1, p=np.inf)  # max-norm distance
    return X[nearest > tol]
