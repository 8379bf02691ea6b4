"""The Pyro GP surrogate: the batched MAP loss is Pyro's own, the posterior is the closed form."""

import numpy as np
import pyro
import pyro.contrib.gp as gp
import pytest
import torch

from codesign.errors import CodesignError
from codesign.search.surrogate import (
    INDUCING_POINTS,
    JITTER,
    SPARSE_ABOVE,
    GPHyperparameters,
    GPSurrogate,
    matern52_gram,
    spread_subset,
)


def data(n=24, d=3, seed=0):
    """Three outputs on the same inputs; the second depends on column 2 alone."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    Y = np.column_stack([np.sin(4 * X[:, 0]) + X[:, 1], 3.0 * X[:, 2] ** 2 + 5.0, np.cos(3 * X[:, 1])])
    return X, Y


def theta_of(hyper: GPHyperparameters) -> np.ndarray:
    return np.concatenate([hyper.lengthscale, [hyper.variance, hyper.noise]])


def loss_at(fitted: GPSurrogate, theta: np.ndarray) -> float:
    """The MAP loss of `fitted`'s data at hyperparameters theta (lengthscales, variance, noise)."""
    return float(fitted.map_losses(fitted.X, fitted.y[None], torch.as_tensor(np.log(theta))[None])[0])


def test_gram_matches_pyro_matern52():
    X = torch.rand(9, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lengthscale = torch.tensor([[0.3, 1.0, 2.0], [0.5, 0.5, 0.1]], dtype=torch.float64)
    variance = torch.tensor([1.5, 0.2], dtype=torch.float64)
    Z = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ours, cross = matern52_gram(X, lengthscale, variance), matern52_gram(X, lengthscale, variance, Z=Z)
    for b in range(2):
        with pyro.settings.context(module_local_params=True):
            kernel = gp.kernels.Matern52(3, variance=variance[b], lengthscale=lengthscale[b])
            assert torch.allclose(ours[b], kernel(X).detach(), rtol=0, atol=1e-12)
            assert torch.allclose(cross[b], kernel(X, Z).detach(), rtol=0, atol=1e-12)


def test_batched_map_loss_is_pyros_trace_elbo():
    X, Y = data()
    rng = np.random.default_rng(1)
    for fitted in GPSurrogate().fit_columns(X, Y):
        for theta in (theta_of(fitted.hyper), np.exp(rng.normal(-1.0, 1.0, size=X.shape[1] + 2))):
            hyper = GPHyperparameters(theta[:-2], float(theta[-2]), float(theta[-1]))
            with pyro.settings.context(module_local_params=True):
                model = fitted._build(fitted.X, fitted.y, hyper)
            assert loss_at(fitted, theta) == pytest.approx(GPSurrogate.elbo_loss(model), rel=1e-9, abs=1e-9)


def test_joint_fit_finds_each_columns_own_optimum():
    """Fitting the columns together (one L-BFGS on the summed loss) ends where fitting each alone
    does, up to the optimizer's tolerance, and well below the starting points."""
    X, Y = data()
    surrogate = GPSurrogate()
    together = surrogate.fit_columns(X, Y)
    for j, joint in enumerate(together):
        alone = GPSurrogate().fit(X, Y[:, j])
        starts = [loss_at(joint, theta_of(h)) for h in surrogate._inits(X.shape[1])]
        assert loss_at(joint, theta_of(joint.hyper)) == pytest.approx(loss_at(alone, theta_of(alone.hyper)), abs=0.05)
        assert loss_at(joint, theta_of(joint.hyper)) < min(starts) - 1.0
    # ARD: the output that depends on column 2 alone gets its shortest lengthscale there
    lengthscale = together[1].hyper.lengthscale
    assert lengthscale[2] < 0.5 * min(lengthscale[0], lengthscale[1])


def test_predict_is_the_closed_form_posterior():
    X, Y = data()
    fitted = GPSurrogate().fit(X, Y[:, 1])
    h = fitted.hyper
    Xq = np.random.default_rng(2).random((7, X.shape[1]))

    def k(A, B):
        r = np.sqrt(np.maximum((((A[:, None, :] - B[None, :, :]) / h.lengthscale) ** 2).sum(-1), 0.0))
        return h.variance * (1 + np.sqrt(5) * r + 5 / 3 * r**2) * np.exp(-np.sqrt(5) * r)

    y = (Y[:, 1] - Y[:, 1].mean()) / Y[:, 1].std(ddof=1)
    K = k(X, X) + (h.noise + JITTER) * np.eye(len(X))
    Ks = k(Xq, X)
    mean = Ks @ np.linalg.solve(K, y) * Y[:, 1].std(ddof=1) + Y[:, 1].mean()
    var = (h.variance - np.einsum("ij,ji->i", Ks, np.linalg.solve(K, Ks.T))) * Y[:, 1].var(ddof=1)
    got_mean, got_var = fitted.predict(Xq)
    assert np.allclose(got_mean.numpy(), mean, rtol=1e-6, atol=1e-8)
    assert np.allclose(got_var.numpy(), var, rtol=1e-5, atol=1e-8)
    # and the data it was fitted on is nearly interpolated (the noise it learned is small)
    assert np.abs(fitted.predict(X)[0].numpy() - Y[:, 1]).max() < 0.05 * np.ptp(Y[:, 1])


def test_bad_fit_input():
    X, Y = data()
    with pytest.raises(CodesignError, match="do not match"):
        GPSurrogate().fit_columns(X[:5], Y)
    bad = Y.copy()
    bad[3, 1] = np.nan
    with pytest.raises(CodesignError, match="non-finite"):
        GPSurrogate().fit_columns(X, bad)


def test_closed_form_gradient_is_autograds():
    X, Y = data()
    X, Y = torch.as_tensor(X), torch.as_tensor(Y.T - Y.T.mean(1, keepdims=True))
    raw = torch.as_tensor(np.random.default_rng(3).normal(-0.5, 1.0, (3, X.shape[1] + 2))).requires_grad_(True)
    surrogate = GPSurrogate()
    reference = surrogate.map_losses(X, Y, raw)
    reference.sum().backward()
    losses, gradient = surrogate.map_losses_and_gradient(X, Y, raw.detach())
    assert torch.allclose(losses, reference.detach(), rtol=1e-10, atol=1e-9)
    assert torch.allclose(gradient, raw.grad, rtol=1e-7, atol=1e-8)


# --- long histories: subset hyperparameters, sparse (inducing-point) posterior ---

def smooth(X: np.ndarray) -> np.ndarray:
    return np.sin(3 * X[:, 0]) + X[:, 1] ** 2 - 0.5 * np.cos(2 * X[:, 2]) + 0.3 * X[:, 3] * X[:, 4]


def exact_twin(fitted: GPSurrogate) -> GPSurrogate:
    """The exact GP posterior on `fitted`'s data at `fitted`'s hyperparameters."""
    twin = GPSurrogate.__new__(GPSurrogate)
    twin.__dict__.update(fitted.__dict__)
    twin._cache(fitted.X, fitted.y)
    return twin


def test_spread_subset_keeps_priority_points_then_picks_the_farthest():
    rng = np.random.default_rng(3)
    X = rng.random((80, 3))
    X[7] = X[5]  # a duplicate priority point is taken once
    chosen = spread_subset(X, 20, first=[5, 7, 11])
    assert list(chosen[:2]) == [5, 11] and len(set(chosen.tolist())) == 20
    for i in range(2, 20):  # brute force: each pick maximizes the distance to those before it
        gaps = np.min(np.linalg.norm(X[:, None, :] - X[None, chosen[:i], :], axis=2), axis=1)
        assert gaps[chosen[i]] == pytest.approx(gaps.max())
    assert list(spread_subset(X, 200)) == list(range(80))  # k >= n: every row


def test_long_history_gets_pyros_sparse_gp_and_its_predictions():
    rng = np.random.default_rng(0)
    X = rng.random((SPARSE_ABOVE + 40, 5))
    fitted = GPSurrogate().fit(X, smooth(X))
    assert fitted.sparse and isinstance(fitted.model, gp.models.SparseGPRegression)
    assert fitted.model.Xu.shape[0] == min(INDUCING_POINTS, X.shape[0])
    Xq = torch.as_tensor(rng.random((50, 5)))
    mean, var = fitted.predict(Xq)
    with pyro.settings.context(module_local_params=True), torch.no_grad():
        pyro_mean, pyro_var = fitted.model(Xq)  # Pyro's own SparseGPRegression.forward
    assert torch.allclose(mean, pyro_mean * fitted.y_std + fitted.y_mean, rtol=0, atol=1e-8)
    assert torch.allclose(var, pyro_var * fitted.y_std**2, rtol=0, atol=1e-8)
    # every point inducing (n <= INDUCING_POINTS here): the sparse posterior is the exact one
    exact_mean, exact_var = exact_twin(fitted).predict(Xq)
    assert torch.allclose(mean, exact_mean, rtol=0, atol=1e-3 * fitted.y_std)
    assert torch.allclose(var.sqrt(), exact_var.sqrt(), rtol=0, atol=1e-2 * fitted.y_std)


def test_sparse_gp_agrees_with_the_exact_gp_on_a_large_history():
    rng = np.random.default_rng(1)
    X = rng.random((900, 5))
    y = smooth(X)
    fitted = GPSurrogate().fit(X, y)
    assert fitted.sparse and fitted.model.Xu.shape[0] == INDUCING_POINTS < X.shape[0]
    Xq = rng.random((300, 5))
    mean, var = fitted.predict(Xq)
    exact_mean, exact_var = exact_twin(fitted).predict(Xq)
    spread = float(np.std(y))
    assert float((mean - exact_mean).abs().max()) < 0.02 * spread
    assert float(np.sqrt(np.mean((mean.numpy() - smooth(Xq)) ** 2))) < 0.01 * spread
    assert float((var.sqrt() - exact_var.sqrt()).abs().max()) < 0.05 * spread


def test_sparse_condition_on_equals_the_posterior_with_those_points_added():
    rng = np.random.default_rng(2)
    X = rng.random((SPARSE_ABOVE + 200, 5))
    fitted = GPSurrogate().fit(X, smooth(X))
    X_new = rng.random((3, 5))
    y_new = np.array([5.0, -5.0, 0.0])  # the first two far from the model's guess: they must move it
    conditioned = fitted.condition_on(X_new, y_new)
    direct = GPSurrogate.__new__(GPSurrogate)
    direct.__dict__.update(fitted.__dict__)
    y_all = torch.cat([fitted.y, (torch.as_tensor(y_new) - fitted.y_mean) / fitted.y_std])
    direct._cache(torch.cat([fitted.X, torch.as_tensor(X_new)]), y_all, fitted.model.Xu)
    Xq = torch.as_tensor(np.vstack([X_new, rng.random((20, 5))]))
    assert torch.allclose(conditioned.predict(Xq)[0], direct.predict(Xq)[0], rtol=0, atol=1e-8)
    assert torch.allclose(conditioned.predict(Xq)[1], direct.predict(Xq)[1], rtol=0, atol=1e-8)
    assert float((conditioned.predict(Xq[:2])[0] - fitted.predict(Xq[:2])[0]).abs().min()) > 1.0


def test_the_fitted_noise_matches_the_noise_of_repeated_observations():
    """20 configurations run 4 times each with Gaussian noise of known variance: the MAP noise
    variance comes out near it (oracle: the pooled within-configuration sample variance), and on
    noise-free data it stays far below it."""
    rng = np.random.default_rng(3)
    X = np.repeat(rng.random((20, 2)), 4, axis=0)
    f = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    noise_sd = 0.15
    y = f + rng.normal(0.0, noise_sd, size=f.shape)
    pooled = np.mean([np.var(y[i : i + 4], ddof=1) for i in range(0, 80, 4)])
    noisy = GPSurrogate().fit(X, y)
    assert 0.5 * pooled < noisy.noise_variance < 2.0 * pooled
    clean = GPSurrogate().fit(X, f)
    assert clean.noise_variance < 0.05 * pooled
    # the latent mean averages the repeats: closer to f than the noisy values are
    mean, _ = noisy.predict(X)
    assert np.mean((mean.numpy() - f) ** 2) < 0.5 * np.mean((y - f) ** 2)


def test_the_fitted_noise_stays_within_its_bounds():
    from codesign.search.surrogate import NOISE_BOUNDS

    rng = np.random.default_rng(0)
    X = rng.random((30, 2))
    for y in (rng.normal(size=30), X[:, 0] * 2.0):  # pure noise, and a noise-free line
        gp = GPSurrogate().fit(X, y)
        assert NOISE_BOUNDS[0] <= gp.hyper.noise <= NOISE_BOUNDS[1]
