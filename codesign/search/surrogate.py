"""The surrogate model: one Pyro Gaussian process per reported quantity.

A `gp.models.GPRegression` with a Matern-5/2 kernel and one lengthscale per model-space
column (ARD, so importance can be read off it), inputs in the unit cube, outputs
standardized. Hyperparameters get priors (`PyroSample`) and are fitted by maximum a
posteriori: Pyro's default Delta autoguide turns the ELBO into the negative log joint,
which L-BFGS minimizes in a few dozen steps (Adam would need hundreds). That loss is
computed batched over every objective and restart at once, with its gradient in closed form
(`map_losses_and_gradient`; the tests check the loss against Pyro's Trace_ELBO and the
gradient against autograd): Pyro's per-step parameter lookups cost ~10x the linear algebra
at these sizes. A fit is a deterministic function of the data: fixed starting points, no
global RNG. Observation noise is one of the fitted hyperparameters (Gaussian likelihood,
LogNormal prior, kept within NOISE_BOUNDS): repeated runs of a configuration that differ
(`run.repeats`) teach it, and `predict` gives the latent function, so the optimizer's front is
the posterior mean at the observed points (plug-in noisy EHVI), not the noisy values.

After fitting, predictions use a cached Cholesky factor instead of Pyro's forward (which
refactors K on every call), so thousands of acquisition evaluations stay cheap, and
`condition_on` adds fantasy observations (Kriging believer) without refitting.

Past SPARSE_ABOVE observations the exact GP's O(n^3) fit and O(n^2) predictions would
dominate a proposal, so the model becomes Pyro's `SparseGPRegression` (VFE): the
hyperparameters are the MAP of the exact model on FIT_SUBSET of the points, and the posterior
uses every observation through INDUCING_POINTS inducing points (`spread_subset`: the caller's
priority points first, e.g. the Pareto set, then farthest-point coverage of the rest). With as
many inducing points as observations the sparse posterior is the exact one.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import pyro
import pyro.contrib.gp as gp
import pyro.distributions as dist
import torch
from pyro.infer import Trace_ELBO
from pyro.nn import PyroSample

from codesign.errors import CodesignError

DTYPE = torch.float64
JITTER = 1e-6
VARIANCE_PRIOR = (2.0, 1.5)  # Gamma(concentration, rate) on the kernel variance (standardized y)
NOISE_PRIOR = (-6.0, 2.0)  # LogNormal(loc, scale) on the noise variance
# the fitted noise variance (standardized units) is kept inside these: above 1 the model would call
# all of y's variance noise, below 1e-8 it adds nothing to JITTER
NOISE_BOUNDS = (1e-8, 1.0)
SPARSE_ABOVE = 160  # observations; more than this: hyperparameters from a subset, sparse posterior
FIT_SUBSET = 100  # past SPARSE_ABOVE: the points whose exact MAP fit sets the hyperparameters
INDUCING_POINTS = 256  # past SPARSE_ABOVE: inducing points of the sparse (VFE) posterior


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Small dense linear algebra is slower multi-threaded; restore the caller's setting after."""
    before = torch.get_num_threads()
    if before != n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            torch.set_num_threads(before)


def _t(value) -> torch.Tensor:
    return torch.as_tensor(value, dtype=DTYPE)


def matern52_gram(X: torch.Tensor, lengthscale: torch.Tensor, variance: torch.Tensor, Z: torch.Tensor | None = None) -> torch.Tensor:
    """Matern-5/2 kernel matrices k(X, Z) (Z defaults to X) for a batch of ARD lengthscales (b, d)
    and variances (b,): (b, n, m), the same arithmetic as `pyro.contrib.gp.kernels.Matern52`
    without its per-call parameter lookups."""
    Z = X if Z is None else Z
    scaled_X = X[None, :, :] / lengthscale[:, None, :]
    scaled_Z = Z[None, :, :] / lengthscale[:, None, :]
    r2 = ((scaled_X**2).sum(-1, keepdim=True) - 2 * scaled_X @ scaled_Z.transpose(-1, -2)
          + (scaled_Z**2).sum(-1, keepdim=True).transpose(-1, -2)).clamp(min=0)
    sqrt5_r = 5**0.5 * (r2 + 1e-12).sqrt()
    return variance[:, None, None] * (1 + sqrt5_r + (5 / 3) * r2) * torch.exp(-sqrt5_r)


def batched_cholesky(K: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cholesky factors of a batch (b, n, n); a matrix that fails gets 1e-4 more jitter and one
    more try. `info` is non-zero where even that failed (its loss is then infinite)."""
    L, info = torch.linalg.cholesky_ex(K)
    if bool((info != 0).any()):
        bad = (info != 0).to(K.dtype)[:, None, None]
        L, info = torch.linalg.cholesky_ex(K + 1e-4 * bad * torch.eye(K.shape[-1], dtype=K.dtype))
    return L, info


def spread_subset(X, k: int, first=()) -> np.ndarray:
    """Indices of `k` rows of X (n, d): the distinct rows of `first` (in order, at most k // 2),
    then greedy farthest-point picks (max-min Euclidean distance, ties to the lower index), so
    the subset covers the data and keeps the caller's priority points. Deterministic."""
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    if k >= n:
        return np.arange(n)
    chosen: list[int] = []
    seen: set[bytes] = set()
    for i in first:
        key = X[int(i)].tobytes()
        if key not in seen and len(chosen) < k // 2:
            seen.add(key)
            chosen.append(int(i))
    if not chosen:
        chosen.append(0)
    nearest = np.min(((X[:, None, :] - X[None, chosen, :]) ** 2).sum(-1), axis=1)
    while len(chosen) < k:
        i = int(np.argmax(nearest))
        chosen.append(i)
        nearest = np.minimum(nearest, ((X - X[i]) ** 2).sum(-1))
    return np.array(chosen)


@dataclass
class GPHyperparameters:
    lengthscale: np.ndarray  # one per model-space column, in unit-cube units
    variance: float  # kernel output scale, in standardized units
    noise: float  # observation noise variance, in standardized units


class GPSurrogate:
    """A fitted GP on (X in [0,1]^d, y); `predict` returns the latent mean and variance in y's units."""

    def __init__(self, restarts: int = 2, max_iter: int = 60, lengthscale_prior: tuple[float, float] | None = None):
        if restarts < 1:
            raise CodesignError(f"GPSurrogate: restarts={restarts!r} must be >= 1")
        self.restarts = int(restarts)
        self.max_iter = int(max_iter)
        self.lengthscale_prior = lengthscale_prior
        self.hyper: GPHyperparameters | None = None
        self.model: gp.models.GPRegression | None = None

    # --- priors and model ---
    def _lengthscale_prior(self, d: int) -> tuple[float, float]:
        # dimension-scaled lengthscale prior (Hvarfner et al. 2024, BoTorch's default): longer
        # lengthscales in higher dimensions, wide enough that the data decides.
        return self.lengthscale_prior or (math.sqrt(2.0) + 0.5 * math.log(d), math.sqrt(3.0))

    def _priors(self, d: int):
        loc, scale = self._lengthscale_prior(d)
        return {
            "lengthscale": dist.LogNormal(_t(loc), _t(scale)).expand([d]).to_event(1),
            "variance": dist.Gamma(_t(VARIANCE_PRIOR[0]), _t(VARIANCE_PRIOR[1])),
            "noise": dist.LogNormal(_t(NOISE_PRIOR[0]), _t(NOISE_PRIOR[1])),
        }

    def _build(self, X: torch.Tensor, y: torch.Tensor, init: GPHyperparameters,
               inducing: torch.Tensor | None = None) -> gp.models.GPModel:
        """The Pyro model: `GPRegression`, or `SparseGPRegression` (VFE) at `inducing` points."""
        d = X.shape[1]
        kernel = gp.kernels.Matern52(input_dim=d, variance=_t(init.variance), lengthscale=_t(init.lengthscale))
        if inducing is None:
            model = gp.models.GPRegression(X, y, kernel, noise=_t(init.noise), jitter=JITTER)
        else:
            model = gp.models.SparseGPRegression(X, y, kernel, Xu=inducing, noise=_t(init.noise), approx="VFE",
                                                 jitter=JITTER)
        priors = self._priors(d)
        kernel.lengthscale = PyroSample(priors["lengthscale"])
        kernel.variance = PyroSample(priors["variance"])
        model.noise = PyroSample(priors["noise"])
        # The Delta guides start at a prior draw (global RNG); start them at `init` instead.
        with torch.no_grad():
            kernel.lengthscale_map = _t(init.lengthscale)
            kernel.variance_map = _t(init.variance)
            model.noise_map = _t(init.noise)
        return model

    @staticmethod
    def elbo_loss(model: gp.models.GPRegression) -> float:
        """Pyro's own Trace_ELBO loss for `model` (the reference `map_losses` must equal)."""
        with pyro.settings.context(module_local_params=True), torch.no_grad():
            return float(Trace_ELBO().differentiable_loss(model.model, model.guide))

    def _inits(self, d: int) -> list[GPHyperparameters]:
        scales = [0.35 * math.sqrt(d), 1.5 * math.sqrt(d), 0.15 * math.sqrt(d), 4.0 * math.sqrt(d)]
        return [GPHyperparameters(np.full(d, s), 1.0, 1e-3) for s in scales[: self.restarts]]

    # --- fitting ---
    def fit(self, X, y) -> "GPSurrogate":
        self.__dict__.update(self.fit_columns(X, np.asarray(y, dtype=float).reshape(-1, 1))[0].__dict__)
        return self

    def fit_columns(self, X, Y, priority=()) -> list["GPSurrogate"]:
        """One GP per column of Y (n, k) on the same inputs, each configured like this one.

        All columns and restarts are fitted in one batched L-BFGS run: their MAP losses are
        independent, so the minimum of their sum is every one's minimum, and one batched
        Cholesky per step costs about what one small one does (per-call overhead, not
        arithmetic, dominates at these sizes). Past SPARSE_ABOVE rows the fit sees a spread
        subset and the posterior is sparse; `priority` (row indices, e.g. the Pareto set)
        names rows that subset and the inducing points should hold first."""
        X = _t(np.asarray(X, dtype=float))
        Y = _t(np.asarray(Y, dtype=float))
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] < 1:
            raise CodesignError(f"GPSurrogate.fit: X {tuple(X.shape)} and y {tuple(Y.shape)} do not match")
        if not torch.isfinite(Y).all():
            raise CodesignError("GPSurrogate.fit: y has non-finite values")
        y_mean = Y.mean(dim=0)
        y_std = Y.std(dim=0) if Y.shape[0] > 1 else torch.zeros(Y.shape[1], dtype=DTYPE)
        y_std = torch.where(y_std > 1e-12, y_std, torch.ones_like(y_std))
        Y_standard = (Y - y_mean) / y_std
        inits = self._inits(X.shape[1])
        inducing = None
        rows = torch.arange(X.shape[0])
        if X.shape[0] > SPARSE_ABOVE:
            rows = torch.as_tensor(spread_subset(X.numpy(), FIT_SUBSET, priority))
            inducing = X[torch.as_tensor(spread_subset(X.numpy(), INDUCING_POINTS, priority))]
        with torch_threads(1):
            hypers = self._map_fit(X[rows], Y_standard[rows], inits)
        fitted = []
        for j, hyper in enumerate(hypers):
            other = GPSurrogate(self.restarts, self.max_iter, self.lengthscale_prior)
            other.X, other.y = X, Y_standard[:, j].contiguous()
            other.y_mean, other.y_std = float(y_mean[j]), float(y_std[j])
            other.hyper = hyper
            with pyro.settings.context(module_local_params=True):
                other.model = other._build(X, other.y, hyper, inducing)
            other._cache(X, other.y, inducing)
            fitted.append(other)
        return fitted

    def _map_fit(self, X: torch.Tensor, Y: torch.Tensor, inits: list[GPHyperparameters]) -> list[GPHyperparameters]:
        """MAP hyperparameters for each column of standardized Y, best of `inits` per column."""
        n, d = X.shape
        k, r = Y.shape[1], len(inits)
        start = np.stack([np.log(np.concatenate([h.lengthscale, [h.variance, h.noise]])) for h in inits])
        raw0 = _t(np.repeat(start[None], k, axis=0).reshape(k * r, d + 2))  # column-major: column j, restart i
        targets = Y.T.repeat_interleave(r, dim=0)  # (k*r, n)
        raw = raw0.clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS([raw], lr=1.0, max_iter=self.max_iter, history_size=10, line_search_fn="strong_wolfe")

        def closure():
            losses, gradient = self.map_losses_and_gradient(X, targets, raw.detach())
            finite = torch.isfinite(losses)  # a start whose Cholesky failed drops out of the sum
            raw.grad = torch.where(finite[:, None], gradient, torch.zeros_like(gradient))
            return torch.where(finite, losses, torch.zeros_like(losses)).sum()

        try:
            optimizer.step(closure)
            final = raw.detach()
        except (RuntimeError, ValueError):  # a NaN step: fall back to the starts
            final = raw0
        with torch.no_grad():
            losses = self.map_losses(X, targets, final)
        hypers = []
        for j in range(k):
            block = losses[j * r : (j + 1) * r]
            if torch.isfinite(block).any():
                best = final[j * r + int(torch.argmin(torch.where(torch.isfinite(block), block, torch.inf)))]
                values = best.exp().numpy()
                noise = float(np.clip(values[d + 1], *NOISE_BOUNDS))
                hypers.append(GPHyperparameters(values[:d].copy(), float(values[d]), noise))
            else:  # every start failed numerically: a safe, smooth model
                hypers.append(GPHyperparameters(np.full(d, math.sqrt(d)), 1.0, 1e-2))
        return hypers

    def map_losses(self, X: torch.Tensor, Y: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """-log p(y_b, theta_b) for each row b of Y (b, n), theta_b = exp(raw[b]) = (lengthscales,
        variance, noise): the negative log joint of `_build`'s Pyro model, which is what Pyro's
        Trace_ELBO gives for its MAP (Delta) guides (`elbo_loss`; the tests check they agree),
        computed batched and without Pyro's per-call parameter lookups."""
        n, d = X.shape
        priors = self._priors(d)
        theta = raw.exp()
        lengthscale, variance, noise = theta[:, :d], theta[:, d], theta[:, d + 1]
        K = matern52_gram(X, lengthscale, variance) + (noise + JITTER)[:, None, None] * torch.eye(n, dtype=DTYPE)
        L, info = batched_cholesky(K)
        alpha = torch.cholesky_solve(Y.unsqueeze(-1), L).squeeze(-1)
        log_likelihood = (
            -0.5 * (Y * alpha).sum(-1)
            - torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
            - 0.5 * n * math.log(2.0 * math.pi)
        )
        log_prior = (
            priors["lengthscale"].log_prob(lengthscale) + priors["variance"].log_prob(variance)
            + priors["noise"].log_prob(noise)
        )
        losses = -(log_likelihood + log_prior)
        return torch.where(info == 0, losses, torch.full_like(losses, math.inf))

    def map_losses_and_gradient(self, X: torch.Tensor, Y: torch.Tensor, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`map_losses` and its gradient in `raw`, in closed form (the tests check it against
        autograd): d(-log p(y|theta))/d theta = 0.5 tr((K^-1 - a a^T) dK/d theta), a = K^-1 y,
        plus the priors' log-space derivatives. Autograd through the batched Cholesky costs
        ~3x this, and the fit evaluates it some 60 times per proposal."""
        n, d = X.shape
        with torch.no_grad():
            theta = raw.exp()
            lengthscale, variance, noise = theta[:, :d], theta[:, d], theta[:, d + 1]
            per_dim = ((X[:, None, :] - X[None, :, :]) ** 2)[None] / (lengthscale**2)[:, None, None, :]  # (b, n, n, d)
            r2 = per_dim.sum(-1)
            sqrt5_r = 5**0.5 * (r2 + 1e-12).sqrt()
            decay = torch.exp(-sqrt5_r)
            gram = variance[:, None, None] * (1 + sqrt5_r + (5 / 3) * r2) * decay
            d_gram_d_r2 = -(5 / 6) * variance[:, None, None] * (1 + sqrt5_r) * decay
            L, info = batched_cholesky(gram + (noise + JITTER)[:, None, None] * torch.eye(n, dtype=DTYPE))
            K_inv = torch.cholesky_inverse(L)
            alpha = (K_inv @ Y.unsqueeze(-1)).squeeze(-1)
            W = K_inv - alpha[:, :, None] * alpha[:, None, :]
            grad = torch.empty_like(raw)
            grad[:, :d] = -torch.einsum("bij,bijk->bk", W * d_gram_d_r2, per_dim)  # dr2/dlog l_k = -2 per_dim_k
            grad[:, d] = 0.5 * (W * gram).sum((-1, -2))
            grad[:, d + 1] = 0.5 * noise * torch.diagonal(W, dim1=-2, dim2=-1).sum(-1)
            # priors: -d log p / d log theta
            loc, scale = self._lengthscale_prior(d)
            grad[:, :d] += 1.0 + (raw[:, :d] - loc) / scale**2
            grad[:, d] += -(VARIANCE_PRIOR[0] - 1.0) + VARIANCE_PRIOR[1] * variance
            grad[:, d + 1] += 1.0 + (raw[:, d + 1] - NOISE_PRIOR[0]) / NOISE_PRIOR[1] ** 2
            half_log_2pi = 0.5 * math.log(2.0 * math.pi)
            log_likelihood = -0.5 * (Y * alpha).sum(-1) - torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1) - n * half_log_2pi

            def log_normal(log_x, mu, sigma):  # LogNormal(mu, sigma).log_prob(x), from log x
                return -log_x - math.log(sigma) - half_log_2pi - (log_x - mu) ** 2 / (2 * sigma**2)

            shape, rate = VARIANCE_PRIOR
            log_prior = (
                log_normal(raw[:, :d], loc, scale).sum(-1)
                + shape * math.log(rate) - math.lgamma(shape) + (shape - 1) * raw[:, d] - rate * variance
                + log_normal(raw[:, d + 1], *NOISE_PRIOR)
            )
            losses = -(log_likelihood + log_prior)
            failed = info != 0
            return torch.where(failed, torch.full_like(losses, math.inf), losses), grad

    def _cache(self, X: torch.Tensor, y_std: torch.Tensor, inducing: torch.Tensor | None = None) -> None:
        """What predictions need: kernel centres Z, mean coefficients, and the triangular factors
        whose solves give the variance (exact: L of K; sparse: Luu of Kuu and Luu @ L of VFE's
        I + W W^T / noise, W = Luu^-1 Kuf, as Pyro's SparseGPRegression.forward computes them)."""
        self._lengthscale = _t(self.hyper.lengthscale).reshape(1, -1)
        self._variance = _t([self.hyper.variance])
        with torch.no_grad():
            if inducing is None:
                K = matern52_gram(X, self._lengthscale, self._variance) + (self.hyper.noise + JITTER) * torch.eye(X.shape[0], dtype=DTYPE)
                L, info = batched_cholesky(K)
                if int(info[0]) != 0:
                    raise CodesignError("GPSurrogate: the kernel matrix is not positive definite even with extra jitter")
                self._Z, self._L, self._LM = X, L[0], None
                self._alpha = torch.cholesky_solve(y_std.reshape(-1, 1), L).reshape(-1)
                return
            m = inducing.shape[0]
            Kuu = matern52_gram(inducing, self._lengthscale, self._variance)[0] + JITTER * torch.eye(m, dtype=DTYPE)
            Luu, info = batched_cholesky(Kuu[None])
            if int(info[0]) != 0:
                raise CodesignError("GPSurrogate: the inducing kernel matrix is not positive definite even with extra jitter")
            self._Z, self._L = inducing, Luu[0]
            self._inner = torch.eye(m, dtype=DTYPE)
            self._inner_rhs = torch.zeros(m, dtype=DTYPE)
            self._add_observations(X, y_std)

    def _add_observations(self, X: torch.Tensor, y_std: torch.Tensor) -> None:
        """Sparse posterior: fold observations into I + W W^T / noise and W y / noise, refactor."""
        with torch.no_grad():
            W = torch.linalg.solve_triangular(self._L, matern52_gram(self._Z, self._lengthscale, self._variance, Z=X)[0], upper=False)
            self._inner = self._inner + (W @ W.T) / self.hyper.noise
            self._inner_rhs = self._inner_rhs + (W @ y_std.reshape(-1)) / self.hyper.noise
            L, info = batched_cholesky(self._inner[None])
            if int(info[0]) != 0:
                raise CodesignError("GPSurrogate: the sparse posterior is not positive definite even with extra jitter")
            self._LM = self._L @ L[0]  # (Luu L)^-1 = L^-1 Luu^-1
            inner_solved = torch.linalg.solve_triangular(L[0], self._inner_rhs.reshape(-1, 1), upper=False)
            self._alpha = torch.linalg.solve_triangular(self._LM.T, inner_solved, upper=True).reshape(-1)

    @property
    def noise_variance(self) -> float:
        """The fitted observation noise variance in y's units (repeated runs of one configuration
        that differ teach it; `predict` returns the latent function, without it)."""
        if self.hyper is None:
            raise CodesignError("GPSurrogate.noise_variance: call fit first")
        return self.hyper.noise * self.y_std**2

    @property
    def sparse(self) -> bool:
        """Whether the posterior goes through inducing points (SPARSE_ABOVE)."""
        return self._LM is not None

    # --- prediction ---
    def predict(self, Xq) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent mean and variance at Xq (q, d), in y's units (torch, float64); differentiable
        in Xq when Xq requires grad (for gradient refinement of an acquisition)."""
        if self.hyper is None:
            raise CodesignError("GPSurrogate.predict: call fit first")
        Xq = Xq if isinstance(Xq, torch.Tensor) else _t(np.asarray(Xq, dtype=float))
        ctx = contextlib.nullcontext() if Xq.requires_grad else torch.no_grad()
        with ctx:
            Ks = matern52_gram(Xq, self._lengthscale, self._variance, Z=self._Z)[0]
            mean = Ks @ self._alpha
            v = torch.linalg.solve_triangular(self._L, Ks.T, upper=False)
            var = self.hyper.variance - (v * v).sum(0)
            if self._LM is not None:  # sparse: plus what the inducing values leave uncertain
                w = torch.linalg.solve_triangular(self._LM, Ks.T, upper=False)
                var = var + (w * w).sum(0)
            var = var.clamp_min(1e-12)
        return mean * self.y_std + self.y_mean, var * self.y_std**2

    def condition_on(self, X_new, y_new) -> "GPSurrogate":
        """A copy that also saw (X_new, y_new), same hyperparameters: for fantasies of pending points."""
        X_new = _t(np.asarray(X_new, dtype=float)).reshape(-1, self.X.shape[1])
        if X_new.shape[0] == 0:
            return self
        y_new = (_t(np.asarray(y_new, dtype=float)).reshape(-1) - self.y_mean) / self.y_std
        other = GPSurrogate.__new__(GPSurrogate)
        other.__dict__.update(self.__dict__)
        other.X, other.y = torch.cat([self.X, X_new]), torch.cat([self.y, y_new])
        if self.sparse:
            other._add_observations(X_new, y_new)
        else:
            other._cache(other.X, other.y)
        return other
