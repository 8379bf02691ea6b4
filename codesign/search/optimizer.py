"""Multi-objective Bayesian optimization with Pyro GP surrogates, behind the ask/tell interface.

Per proposal: one GP per objective (on Yeo-Johnson-warped minimization values), one per
constrained metric, and one on success/failure labels once something has crashed, all
fitted on the study's history (cached on it); pending and running trials enter as
Kriging-believer fantasies (observed at their predicted mean), so `ask(n)` spreads a batch,
and EHVI's front counts them one posterior sd worse than predicted (PENDING_FRONT_SD).
The score is exact expected hypervolume improvement (<= 3 objectives) or ParEGO's expected
improvement of a random augmented-Chebyshev scalarization (> 3), times the probability that
the constraints hold and that the trial does not fail. EHVI's reference point is the user's
`reference_point` (the worst value of each objective still worth having), else just beyond
the worst value observed, which also credits extremes nobody wants (a corner with two
objectives at 0 and the third at its worst). The first `n_initial` trials are a scrambled
Sobol design. The acquisition is maximized over a Sobol design plus perturbations of the
Pareto set; in cubes of 4+ dimensions at several scales, and every other proposal searches
only around the Pareto set (a trust-region-like local step), which keeps EHVI from spending
the budget on the corners of a high-dimensional cube where the GPs are most uncertain.
Everything random is drawn from (seed, number of trials so far), so an optimizer on a
resumed study proposes what an uninterrupted one would have.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
from scipy import stats

from codesign.errors import CodesignError
from codesign.search.acquisition import (
    ExpectedHypervolumeImprovement,
    ExpectedImprovement,
    ProbabilityOfFeasibility,
    augmented_chebyshev,
    optimize_acquisition,
    random_simplex_weights,
)
from codesign.search.pareto import is_non_dominated
from codesign.search.samplers import (
    Constraint,
    GridSampler,
    History,
    RandomSampler,
    Sampler,
    SobolSampler,
    checked_number,
    sobol_point,
)
from codesign.search.space import Space
from codesign.search.surrogate import GPSurrogate, torch_threads
from codesign.study.base import StudyStorage
from codesign.study.trial import UNFINISHED, Trial


def _metric_value(trial: Trial, name: str) -> float | None:
    """A constraint's metric as measured by `trial` (an objective's value first), or None when it
    reported none that is a finite number (stored metrics may hold text, dicts or nothing)."""
    value = trial.values[name] if name in trial.values else trial.metrics.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


class YeoJohnsonWarp:
    """Standardize, then Yeo-Johnson with the likelihood-maximizing lambda (monotone increasing),
    fitted on one objective's observed values and applicable to others (a reference point)."""

    def __init__(self, y: np.ndarray):
        y = np.asarray(y, dtype=float)
        self.mean, self.std = float(y.mean()), float(y.std())
        self.lam = None
        self.identity = not self.std > 0  # a constant column stays as it is
        if self.identity:
            return
        z = (y - self.mean) / self.std
        try:
            lam = float(np.clip(stats.yeojohnson_normmax(z), -2.0, 4.0))
        except (ValueError, RuntimeError, FloatingPointError):
            return  # standardized only
        if np.all(np.isfinite(stats.yeojohnson(z, lam))):
            self.lam = lam

    def __call__(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.identity:
            return values
        z = (values - self.mean) / self.std
        return z if self.lam is None else stats.yeojohnson(z, self.lam)


__all__ = ["BayesianOptimizer", "Trial", "Constraint", "Sampler", "RandomSampler", "SobolSampler", "GridSampler"]

LOCAL_MIN_DIM = 4  # cube dimensions from which the search also works locally
ANCHOR_SCALES = (0.02, 0.05, 0.1, 0.2)  # perturbation scales around the Pareto set
LOCAL_EVERY = 2  # every LOCAL_EVERY-th proposal searches only around the Pareto set
LOCAL_RADIUS = 0.1  # how far its gradient steps may move from their start (unit cube)
EHVI_MAX_OBJECTIVES = 3  # above this the box decomposition grows too fast: ParEGO instead
# A pending trial was chosen for its promise, so it tends to do worse than predicted (the winner's
# curse): in EHVI's front it counts this many posterior sds worse than its mean. At its mean, it
# covers what a batch's later members might have improved on next to it, and a batch on DTLZ2
# spread over the cube's corners instead of refining one (benchmarks/README.md, "Batches").
PENDING_FRONT_SD = 1.0
# ...which lets a member score next to another one; closer than this (max-norm, unit cube) the two
# would measure the same thing, so a batch's members keep this far apart
PENDING_KEEP_AWAY = 0.01


class BayesianOptimizer(Sampler):
    """GP-based multi-objective optimizer (EHVI / ParEGO), with constraints and failure learning."""

    def __init__(
        self,
        space: Space,
        objectives: Mapping[str, str],
        constraints: Sequence[str | Constraint] = (),
        seed: int | None = None,
        n_initial: int | None = None,
        n_candidates: int = 1024,
        gp_restarts: int = 2,
        reference_margin: float = 0.1,
        reference: str = "observed",
        warp_outputs: bool = True,
        acquisition: str = "auto",
        lengthscale_prior: tuple[float, float] | None = None,
        refine_steps: int = 40,
        reference_point: Mapping[str, float] | None = None,
        study: StudyStorage | None = None,
    ):
        super().__init__(space, objectives, constraints, seed, study)
        if n_initial is None:
            # a small design leaves the budget to the model; 8 rather than 5 in two or three
            # dimensions, or a narrow valley (BraninCurrin's) is missed on a third of the seeds
            n_initial = max(8, space.cube_dim + 2)
        if isinstance(n_initial, bool) or not isinstance(n_initial, int) or n_initial < 1:
            raise CodesignError(f"BayesianOptimizer: n_initial={n_initial!r} must be a positive integer")
        if n_candidates < 16:
            raise CodesignError(f"BayesianOptimizer: n_candidates={n_candidates!r} must be >= 16")
        if not reference_margin > 0:
            raise CodesignError(f"BayesianOptimizer: reference_margin={reference_margin!r} must be > 0")
        self.n_initial = n_initial
        self.n_candidates = int(n_candidates)
        self.gp_restarts = int(gp_restarts)
        self.reference_margin = float(reference_margin)
        if reference not in ("observed", "front"):
            raise CodesignError(f"BayesianOptimizer: reference={reference!r} must be 'observed' or 'front'")
        self.reference = reference
        self.reference_point = self._check_reference_point(reference_point)
        self.warp_outputs = bool(warp_outputs)
        if acquisition not in ("auto", "ehvi", "parego"):
            raise CodesignError(f"BayesianOptimizer: acquisition={acquisition!r} must be 'auto', 'ehvi' or 'parego'")
        self.acquisition = acquisition
        self.lengthscale_prior = lengthscale_prior
        self.refine_steps = int(refine_steps)
        self._model_cache: tuple[tuple, dict] | None = None
        self._unit_rows: dict[tuple[int, str], np.ndarray] = {}  # (trial number, params) -> model-space row

    def _check_reference_point(self, reference_point) -> np.ndarray | None:
        """The user's reference point in minimization form (objective order), or None."""
        if reference_point is None:
            return None
        if not isinstance(reference_point, Mapping):
            raise CodesignError(f"BayesianOptimizer: reference_point={reference_point!r} must be a dict objective -> value")
        unknown = sorted(set(reference_point) - set(self.objectives))
        if unknown:
            raise CodesignError(f"BayesianOptimizer: reference_point names {unknown[0]!r}, which is not an objective {self.objective_names}")
        missing = [name for name in self.objectives if name not in reference_point]
        if missing:
            raise CodesignError(f"BayesianOptimizer: reference_point has no value for objective {missing[0]!r}")
        values = []
        for name, direction in self.objectives.items():
            value = checked_number(f"reference_point[{name!r}]", reference_point[name])
            if not math.isfinite(value):
                raise CodesignError(f"BayesianOptimizer: reference_point[{name!r}] = {value!r} must be finite")
            values.append(-value if direction == "maximize" else value)
        return np.array(values)

    # --- data ---
    def _X(self, trials: Sequence[Trial] | Sequence[dict]) -> np.ndarray:
        rows = [self._unit_row(t) if isinstance(t, Trial) else self.space.to_unit(t) for t in trials]
        return np.stack(rows) if rows else np.zeros((0, self.space.model_dim))

    def _unit_row(self, trial: Trial) -> np.ndarray:
        """A trial's model-space row, kept by number (a long history is re-read every proposal);
        a study's params were validated when the trial was recorded."""
        key = (trial.number, repr(trial.params))
        row = self._unit_rows.get(key)
        if row is None:
            row = self._unit_rows[key] = self.space.to_unit(trial.params, check=False)
        return row

    def fit_models(self, history: History | None = None) -> dict:
        """GPs on the study's history: {"objectives": {name: gp}, "metrics": {name: gp},
        "failure": gp or None, "targets": (what the objective GPs model, its warps)}.
        Deterministic in the history, so cached on it."""
        history = history or self.history()
        key = tuple((t.number, t.state) for t in history.trials if t.state not in UNFINISHED)
        if self._model_cache is not None and self._model_cache[0] == key:
            return self._model_cache[1]
        observed = history.observed
        if len(observed) < 2:
            raise CodesignError("BayesianOptimizer: need at least 2 trials with values to fit the surrogate")
        with torch_threads(1):
            X = self._X(observed)
            targets, warps = self._targets(observed)
            # a constraint metric every observed trial reports is fitted with the objectives (one
            # batched fit); the Pareto set is what a sparse model (long histories) must hold first
            shared, metrics = {}, {}
            for c in self.constraints:
                measured = [(t, _metric_value(t, c.metric)) for t in observed]
                having = [(t, value) for t, value in measured if value is not None]
                if c.metric in shared or c.metric in metrics:
                    continue
                if len(having) == len(observed):
                    shared[c.metric] = [v for _, v in having]
                elif len(having) >= 2:
                    metrics[c.metric] = self._gp().fit(self._X([t for t, _ in having]), [v for _, v in having])
            columns = np.column_stack([targets, *shared.values()]) if shared else targets
            priority = np.flatnonzero(is_non_dominated(targets))
            fitted = self._gp().fit_columns(X, columns, priority=priority)
            objectives = dict(zip(self.objectives, fitted))
            metrics.update(zip(shared, fitted[len(self.objectives):]))
            failed = history.failures
            failure = None
            if failed:
                labelled = observed + failed
                labels = [1.0] * len(observed) + [0.0] * len(failed)
                failure = self._gp().fit(self._X(labelled), labels)
        models = {"objectives": objectives, "metrics": metrics, "failure": failure, "targets": (targets, warps)}
        self._model_cache = (key, models)
        return models

    def _targets(self, observed: Sequence[Trial]) -> tuple[np.ndarray, list]:
        """What the objective GPs model, with the per-column map from minimization values to it:
        each column Yeo-Johnson warped (when `warp_outputs`) so that a heavy tail of bad values (a
        Branin-like 300 next to a front at 1) does not flatten the model where the front is. The
        warp is monotone, so dominance, and hence the Pareto set, is unchanged; EHVI is then
        measured in warped units (a user's reference point goes through the same map)."""
        Y = self.minimization_values(observed)
        if not self.warp_outputs or Y.shape[0] < 3:
            return Y, [lambda v: np.asarray(v, dtype=float)] * Y.shape[1]
        warps = [YeoJohnsonWarp(Y[:, j]) for j in range(Y.shape[1])]
        return np.column_stack([warp(Y[:, j]) for j, warp in enumerate(warps)]), warps

    def _gp(self) -> GPSurrogate:
        return GPSurrogate(restarts=self.gp_restarts, lengthscale_prior=self.lengthscale_prior)

    # --- proposal ---
    def _propose(self, rng: np.random.Generator, history: History) -> dict:
        if len(history.trials) < self.n_initial or len(history.observed) < 2:
            return self.space.from_cube(sobol_point(self.space.cube_dim, self.seed, len(history.trials)))
        with torch_threads(1):
            score, anchors = self._acquisition(rng, history)
            x, _ = optimize_acquisition(  # history.trials holds the pending ones too
                score, self.space, rng, exclude=self._X(history.trials), anchors=anchors, n_candidates=self.n_candidates,
                keep_away=self._X(history.pending), keep_away_radius=PENDING_KEEP_AWAY,
                gradient_steps=self.refine_steps,
                **self._search_region(history),
            )
        return self.space.from_unit(x)

    def _search_region(self, history: History) -> dict:
        """Low-dimensional cubes are covered by the global design; from LOCAL_MIN_DIM columns on,
        candidates around the Pareto set come at several scales and every LOCAL_EVERY-th
        proposal searches only there (the corners are where the GPs are most uncertain)."""
        if self.space.cube_dim < LOCAL_MIN_DIM:
            return {}
        local = LOCAL_EVERY and len(history.trials) % LOCAL_EVERY == LOCAL_EVERY - 1
        return {"anchor_scales": ANCHOR_SCALES, "local_radius": LOCAL_RADIUS if local else None}

    def _acquisition(self, rng: np.random.Generator, history: History):
        """The score to maximize over model-space points, and anchor points for local search.
        Pending and running trials enter as Kriging-believer fantasies (the models observe them at
        their predicted means; EHVI's front counts them PENDING_FRONT_SD sds worse)."""
        models = self.fit_models(history)
        observed = history.observed
        names, m = self.objective_names, len(self.objectives)
        Y, warps = models["targets"]  # fitting the warps' lambdas is not cheap: once per history
        low, high = Y.min(axis=0), Y.max(axis=0)
        scale = np.where(high > low, high - low, 1.0)
        low_t, scale_t = torch.as_tensor(low), torch.as_tensor(scale)

        # Kriging believer: pending points are observed at their predicted means
        X_pend = self._X(history.pending)  # rows cached by trial, as for the observed ones
        obj_models = dict(models["objectives"])
        metric_models = dict(models["metrics"])
        if len(X_pend):
            preds = {name: gp.predict(X_pend) for name, gp in obj_models.items()}
            pending_front = np.column_stack([(preds[n][0] + PENDING_FRONT_SD * preds[n][1].sqrt()).numpy() for n in names])
            pending_front = (pending_front - low) / scale
            for name, gp in obj_models.items():
                obj_models[name] = gp.condition_on(X_pend, preds[name][0].numpy())
            for name, gp in metric_models.items():
                metric_models[name] = gp.condition_on(X_pend, gp.predict(X_pend)[0].numpy())

        def objectives_at(X) -> tuple[torch.Tensor, torch.Tensor]:
            """Normalized minimization targets: 0 = best observed, 1 = worst observed."""
            preds = [obj_models[n].predict(X) for n in names]
            mean = torch.stack([p[0] for p in preds], dim=1)
            std = torch.stack([p[1].sqrt() for p in preds], dim=1)
            return (mean - low_t) / scale_t, std / scale_t

        feasible = history.feasible
        X_feas = self._X(feasible)
        anchors = None
        use_ehvi = self.acquisition == "ehvi" or (self.acquisition == "auto" and m <= EHVI_MAX_OBJECTIVES)
        if use_ehvi:
            acq = None
            if feasible:
                # plug-in noisy EHVI: the front is the posterior mean at feasible points (+ pending)
                front = objectives_at(X_feas)[0].numpy()
                if len(X_pend):
                    front = np.vstack([front, pending_front])
                front = front[is_non_dominated(front)]
                if self.reference_point is not None:  # the user's: only improvement inside it counts
                    warped = np.array([float(warp(v)) for warp, v in zip(warps, self.reference_point)])
                    ref = (warped - low) / scale
                elif self.reference == "observed":
                    # just beyond the worst value observed: the whole observed range counts,
                    # so extending the front towards an objective's extreme earns credit
                    ref = np.full(m, 1.0 + self.reference_margin)
                    ref = np.maximum(ref, front.max(axis=0) + self.reference_margin)
                else:  # just beyond the front's own nadir: concentrates on the front's middle
                    ideal, nadir = front.min(axis=0), front.max(axis=0)
                    ref = nadir + self.reference_margin * np.maximum(nadir - ideal, 0.1)
                acq = ExpectedHypervolumeImprovement(front, ref)
                mask = is_non_dominated(self.minimization_values(feasible))
                anchors = X_feas[mask]

            def base(X):
                mean, std = objectives_at(X)
                return acq(mean, std) if acq is not None else torch.ones(mean.shape[0], dtype=torch.float64)
        else:
            weights = random_simplex_weights(rng, m)
            scalar = augmented_chebyshev((Y - low) / scale, weights)  # Y: the (warped) targets
            gp = self._gp().fit(self._X(observed), scalar)
            if len(X_pend):
                gp = gp.condition_on(X_pend, gp.predict(X_pend)[0].numpy())
            states = np.array([t.state == "complete" for t in observed])
            best = scalar[states].min() if states.any() else scalar.min()
            ei = ExpectedImprovement(best)
            anchors = self._X(observed)[[int(np.argmin(scalar))]]

            def base(X):
                mean, var = gp.predict(X)
                return ei(mean[:, None], var.sqrt()[:, None])

        pof = self._feasibility(metric_models)
        failure = models["failure"]

        def score(X: torch.Tensor) -> torch.Tensor:
            s = base(X) * pof(X)
            if failure is not None:
                s = s * failure.predict(X)[0].clamp(1e-3, 1.0)
            return s

        return score, anchors

    def _feasibility(self, metric_models: dict):
        usable = [c for c in self.constraints if c.metric in metric_models]
        prob = ProbabilityOfFeasibility([c.bound for c in usable], [c.upper for c in usable])

        def pof(X: torch.Tensor) -> torch.Tensor:
            if not usable:
                return torch.ones(X.shape[0], dtype=torch.float64)
            preds = [metric_models[c.metric].predict(X) for c in usable]
            mean = torch.stack([p[0] for p in preds], dim=1)
            std = torch.stack([p[1].sqrt() for p in preds], dim=1)
            return prob(mean, std)

        return pof

    # --- sensitivity ---
    def importance(self, method: str = "sobol", n_samples: int = 1024) -> dict[str, dict[str, float]]:
        """Per-objective parameter importance from the fitted GPs, normalized to sum to 1.

        method="sobol": first-order Sobol indices of the GP mean (variance explained by each
        parameter alone); method="ard": inverse ARD lengthscales, summed over a parameter's
        model columns."""
        from codesign.search.importance import ard_importance, sobol_importance

        history = self.history()
        models = self.fit_models(history)["objectives"]
        if method == "ard":
            return {name: ard_importance(gp, self.space) for name, gp in models.items()}
        if method == "sobol":
            rng = np.random.default_rng([self.seed, len(history.trials), 0x1A7])
            return {name: sobol_importance(gp, self.space, rng, n_samples) for name, gp in models.items()}
        raise CodesignError(f"importance: method={method!r} is not 'sobol' or 'ard'")
