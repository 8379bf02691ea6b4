"""The surrogate model: one Pyro Gaussian process per reported quantity.

A `gp.models.GPRegression` with a Matern-5/2 kernel and one lengthscale per model-space
column (ARD, so importance can be read off it), inputs in the unit cube, outputs
standardized. Hyperparameters get priors (`PyroSample`) and are fitted by maximum a
posteriori: Pyro's default Delta autoguide turns the ELBO into the negative log joint,
which L-BFGS minimizes in a few dozen steps (Adam would need hundreds). A fit is a
deterministic function of the data: fixed starting points, no global RNG.

After fitting, predictions use a cached Cholesky factor instead of Pyro's forward (which
refactors K on every call), so thousands of acquisition evaluations stay cheap, and
`condition_on` adds fantasy observations (Kriging believer) without refitting.
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
    def _priors(self, d: int):
        # dimension-scaled lengthscale prior (Hvarfner et al. 2024, BoTorch's default): longer
        # lengthscales in higher dimensions, wide enough that the data decides.
        loc, scale = self.lengthscale_prior or (math.sqrt(2.0) + 0.5 * math.log(d), math.sqrt(3.0))
        return {
            "lengthscale": dist.LogNormal(_t(loc), _t(scale)).expand([d]).to_event(1),
            "variance": dist.Gamma(_t(2.0), _t(1.5)),
            "noise": dist.LogNormal(_t(-6.0), _t(2.0)),
        }

    def _build(self, X: torch.Tensor, y: torch.Tensor, init: GPHyperparameters) -> gp.models.GPRegression:
        d = X.shape[1]
        kernel = gp.kernels.Matern52(input_dim=d, variance=_t(init.variance), lengthscale=_t(init.lengthscale))
        model = gp.models.GPRegression(X, y, kernel, noise=_t(init.noise), jitter=JITTER)
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
    def _read(model: gp.models.GPRegression) -> GPHyperparameters:
        model.set_mode("guide")
        with torch.no_grad(), pyro.settings.context(module_local_params=True):
            hyper = GPHyperparameters(
                lengthscale=model.kernel.lengthscale.detach().numpy().copy(),
                variance=float(model.kernel.variance),
                noise=float(model.noise),
            )
        model.set_mode("model")
        return hyper

    def _map_loss(self, model: gp.models.GPRegression):
        """-log p(y, theta) at the Delta guides' values: what Trace_ELBO computes for this model
        and guide (a Delta guide has no entropy), without the two Pyro traces per step, which
        cost ~10x the linear algebra at these sizes. `elbo_loss` checks the two agree."""
        priors = self._priors(model.X.shape[1])
        n = model.X.shape[0]
        eye = torch.eye(n, dtype=DTYPE)

        def loss_fn(_model=None, _guide=None):
            model.set_mode("guide")
            lengthscale, variance, noise = model.kernel.lengthscale, model.kernel.variance, model.noise
            K = model.kernel(model.X) + (noise + model.jitter) * eye
            likelihood = dist.MultivariateNormal(torch.zeros(n, dtype=DTYPE), scale_tril=torch.linalg.cholesky(K))
            log_joint = (
                likelihood.log_prob(model.y)
                + priors["lengthscale"].log_prob(lengthscale)
                + priors["variance"].log_prob(variance)
                + priors["noise"].log_prob(noise)
            )
            model.set_mode("model")
            return -log_joint

        return loss_fn

    @staticmethod
    def elbo_loss(model: gp.models.GPRegression) -> float:
        """Pyro's own Trace_ELBO loss for `model` (the reference `_map_loss` must equal)."""
        with pyro.settings.context(module_local_params=True), torch.no_grad():
            return float(Trace_ELBO().differentiable_loss(model.model, model.guide))

    def _inits(self, d: int) -> list[GPHyperparameters]:
        scales = [0.35 * math.sqrt(d), 1.5 * math.sqrt(d), 0.15 * math.sqrt(d), 4.0 * math.sqrt(d)]
        return [GPHyperparameters(np.full(d, s), 1.0, 1e-3) for s in scales[: self.restarts]]

    # --- fitting ---
    def fit(self, X, y) -> "GPSurrogate":
        X = _t(np.asarray(X, dtype=float))
        y = _t(np.asarray(y, dtype=float).reshape(-1))
        if X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[0] < 1:
            raise CodesignError(f"GPSurrogate.fit: X {tuple(X.shape)} and y {tuple(y.shape)} do not match")
        if not torch.isfinite(y).all():
            raise CodesignError("GPSurrogate.fit: y has non-finite values")
        self.X = X
        self.y_mean = float(y.mean())
        std = float(y.std()) if y.shape[0] > 1 else 0.0
        self.y_std = std if std > 1e-12 else 1.0
        self.y = (y - self.y_mean) / self.y_std
        best, best_loss = None, math.inf
        with torch_threads(1), pyro.settings.context(module_local_params=True):
            for init in self._inits(X.shape[1]):
                model = self._build(X, self.y, init)
                loss_fn = self._map_loss(model)
                optimizer = torch.optim.LBFGS(
                    model.parameters(), lr=1.0, max_iter=self.max_iter, line_search_fn="strong_wolfe"
                )
                try:
                    gp.util.train(model, optimizer, loss_fn=loss_fn, num_steps=1)
                    with torch.no_grad():
                        loss = float(loss_fn())
                except (RuntimeError, ValueError):  # Cholesky failure or NaN step: try the next start
                    continue
                if math.isfinite(loss) and loss < best_loss:
                    best, best_loss = model, loss
        if best is None:  # every start failed numerically: keep a safe, smooth model
            best = self._build(X, self.y, GPHyperparameters(np.full(X.shape[1], math.sqrt(X.shape[1])), 1.0, 1e-2))
        self.model = best
        self.hyper = self._read(best)
        self._cache(X, self.y)
        return self

    def _kernel(self) -> gp.kernels.Matern52:
        """The fitted kernel as a plain Pyro kernel (no priors, no guide lookups)."""
        h = self.hyper
        with pyro.settings.context(module_local_params=True):
            kernel = gp.kernels.Matern52(
                input_dim=len(h.lengthscale), variance=_t(h.variance), lengthscale=_t(h.lengthscale)
            )
            for parameter in kernel.parameters():
                parameter.requires_grad_(False)
            return kernel

    def _cache(self, X: torch.Tensor, y_std: torch.Tensor) -> None:
        self._k = self._kernel()
        with torch.no_grad(), pyro.settings.context(module_local_params=True):
            K = self._k(X) + (self.hyper.noise + JITTER) * torch.eye(X.shape[0], dtype=DTYPE)
            L, info = torch.linalg.cholesky_ex(K)
            if int(info) != 0:
                K = K + 1e-4 * torch.eye(X.shape[0], dtype=DTYPE)
                L = torch.linalg.cholesky(K)
        self._X, self._L = X, L
        self._alpha = torch.cholesky_solve(y_std.reshape(-1, 1), L).reshape(-1)

    # --- prediction ---
    def predict(self, Xq) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent mean and variance at Xq (q, d), in y's units (torch, float64); differentiable
        in Xq when Xq requires grad (for gradient refinement of an acquisition)."""
        if self.hyper is None:
            raise CodesignError("GPSurrogate.predict: call fit first")
        Xq = Xq if isinstance(Xq, torch.Tensor) else _t(np.asarray(Xq, dtype=float))
        ctx = contextlib.nullcontext() if Xq.requires_grad else torch.no_grad()
        with ctx, pyro.settings.context(module_local_params=True):
            Ks = self._k(Xq, self._X)
            mean = Ks @ self._alpha
            v = torch.linalg.solve_triangular(self._L, Ks.T, upper=False)
            var = (self.hyper.variance - (v * v).sum(0)).clamp_min(1e-12)
        return mean * self.y_std + self.y_mean, var * self.y_std**2

    def condition_on(self, X_new, y_new) -> "GPSurrogate":
        """A copy that also saw (X_new, y_new), same hyperparameters: for fantasies of pending points."""
        X_new = _t(np.asarray(X_new, dtype=float)).reshape(-1, self._X.shape[1])
        if X_new.shape[0] == 0:
            return self
        y_new = (_t(np.asarray(y_new, dtype=float)).reshape(-1) - self.y_mean) / self.y_std
        other = GPSurrogate.__new__(GPSurrogate)
        other.__dict__.update(self.__dict__)
        X = torch.cat([self._X, X_new])
        y = torch.cat([self.y, y_new])
        other.X, other.y = X, y
        other._cache(X, y)
        return other
