"""Search spaces: typed dimensions, conditional and fixed parameters, and the maps to unit cubes.

Two cubes, because samplers and models want different things:

- the *parameter cube* has one coordinate per free parameter (a categorical is one
  coordinate cut into equal bins); random, Sobol and grid samplers draw there, so a Sobol
  point spreads evenly over every parameter;
- the *model space* (`to_unit`/`from_unit`) is what the GP sees: numeric parameters in
  [0, 1] (log-scaled where asked), categoricals one-hot (an ordinal code would invent a
  distance between "rate" and "delta"), inactive conditional parameters at a fixed neutral
  value so that they add no spurious distance between points.

Fixed parameters appear in every params dict but take no room in either cube.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from codesign.errors import CodesignError
from hyperparams import check_bounds, check_value, same_choice

__all__ = ["Categorical", "Dimension", "Fixed", "Integer", "Real", "Space", "dimension_from_dict"]

NEUTRAL_NUMERIC = 0.5  # model-space value of an inactive numeric parameter
NEUTRAL_ONE_HOT = 0.0  # model-space value of each one-hot slot of an inactive categorical


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar JSON knows."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _parse_condition(condition: Any, where: str) -> tuple[str, tuple] | None:
    """`("encoder", ["delta"])`, `("encoder", "delta")` or `{"encoder": ["delta"]}` -> (parent, values)."""
    if condition is None:
        return None
    if isinstance(condition, Mapping):
        if len(condition) != 1:
            raise CodesignError(f"{where}: condition {condition!r} must name exactly one parent parameter")
        ((parent, values),) = condition.items()
    elif isinstance(condition, (tuple, list)) and len(condition) == 2:
        parent, values = condition
    else:
        raise CodesignError(
            f"{where}: condition {condition!r} must be (parent_name, [values]) or {{parent_name: [values]}}"
        )
    if not isinstance(parent, str) or not parent:
        raise CodesignError(f"{where}: condition parent {parent!r} must be a parameter name")
    if isinstance(values, (list, tuple)):
        values = tuple(_plain(v) for v in values)
    else:
        values = (_plain(values),)
    if not values:
        raise CodesignError(f"{where}: condition on {parent!r} lists no values")
    return parent, values


class Dimension:
    """One parameter's domain. `condition=(parent, values)` makes it active only when
    params[parent] is one of `values` (and the parent itself is active)."""

    kind = "dimension"
    n_cube = 1  # coordinates in the parameter cube
    n_model = 1  # coordinates in the model space

    def __init__(self, condition: Any = None, default: Any = None, help: str = ""):
        self.condition = _parse_condition(condition, type(self).__name__)
        self._default = default
        self.help = help or ""

    # --- per-dimension maps (value <-> cube coordinate <-> model coordinates) ---
    def from_cube(self, u: float) -> Any:
        raise NotImplementedError

    def to_model(self, value: Any) -> np.ndarray:
        raise NotImplementedError

    def from_model(self, u: np.ndarray) -> Any:
        raise NotImplementedError

    def neutral(self) -> np.ndarray:
        return np.full(self.n_model, NEUTRAL_NUMERIC)

    def grid_values(self, points: int) -> list:
        raise NotImplementedError

    def coerce(self, name: str, value: Any) -> Any:
        """The value in this dimension's Python type, or a CodesignError naming `name`."""
        raise NotImplementedError

    def default(self) -> Any:
        raise NotImplementedError

    def describe(self) -> dict:
        raise NotImplementedError

    def to_dict(self) -> dict:
        out = {"type": self.kind, **self.describe()}
        if self.condition is not None:
            out["condition"] = [self.condition[0], list(self.condition[1])]
        if self._default is not None:
            out["default"] = _plain(self._default)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dimension) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True, default=str))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items() if k != "type")
        return f"{type(self).__name__}({args})"


class _Numeric(Dimension):
    integer = False

    def __init__(self, low, high, log: bool = False, condition: Any = None, default: Any = None, help: str = ""):
        self.low, self.high = check_bounds(type(self).__name__, self.kind, low, high, log, error=CodesignError)
        self.log = bool(log)
        super().__init__(condition, default, help)
        if default is not None:
            self._default = self.coerce("default", default)

    # continuous coordinate t in [0, 1] <-> value, before any rounding
    def _from_t(self, t: float) -> float:
        t = min(max(float(t), 0.0), 1.0)
        if not (self.integer and not self.log) and t in (0.0, 1.0):
            return float(self.low if t == 0.0 else self.high)  # endpoints exact, no exp(log()) drift
        lo, hi = self._span()
        x = lo + t * (hi - lo)
        return math.exp(x) if self.log else x

    def _to_t(self, value: float) -> float:
        lo, hi = self._span()
        x = math.log(value) if self.log else float(value)
        return (x - lo) / (hi - lo)

    def _span(self) -> tuple[float, float]:
        if self.integer and not self.log:
            # each integer owns an equal-width bin, so uniform t is uniform over integers
            return self.low - 0.5, self.high + 0.5
        if self.integer:
            return math.log(self.low), math.log(self.high)  # rounded in log space
        return (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)

    def _finish(self, x: float):
        if self.integer:
            return int(min(max(round(x), self.low), self.high))
        return float(min(max(x, self.low), self.high))

    def from_cube(self, u: float):
        return self._finish(self._from_t(u))

    def to_model(self, value) -> np.ndarray:
        return np.array([min(max(self._to_t(value), 0.0), 1.0)])

    def from_model(self, u: np.ndarray):
        return self._finish(self._from_t(float(np.asarray(u).reshape(-1)[0])))

    def project_model(self, block: np.ndarray) -> np.ndarray:
        """Vectorized `to_model(from_model(row))` for the rows of a (n, 1) model-space block."""
        t = np.clip(block[:, 0], 0.0, 1.0)
        lo, hi = self._span()
        x = lo + t * (hi - lo)
        x = np.exp(x) if self.log else x
        if not (self.integer and not self.log):
            x = np.where(t == 0.0, float(self.low), np.where(t == 1.0, float(self.high), x))
        x = np.clip(np.round(x), self.low, self.high) if self.integer else np.clip(x, self.low, self.high)
        back = ((np.log(x) if self.log else x) - lo) / (hi - lo)
        return np.clip(back, 0.0, 1.0)[:, None]

    def grid_values(self, points: int) -> list:
        if points < 1:
            raise CodesignError(f"grid: points_per_dim={points!r} must be >= 1")
        if points == 1:
            ts = [0.5]
        else:
            ts = np.linspace(0.0, 1.0, points)
        if self.integer and not self.log:
            values = [self._finish(self.low + t * (self.high - self.low)) for t in ts]
        else:
            values = [self._finish(self._from_t(t)) for t in ts]
        return list(dict.fromkeys(values))

    def coerce(self, name: str, value):
        declaration = {"type": self.kind, "low": self.low, "high": self.high}
        return check_value(declaration, value, f"parameter {name!r}", error=CodesignError)

    def default(self):
        if self._default is not None:
            return self._default
        return self._finish(self._from_t(0.5))

    def describe(self) -> dict:
        return {"low": self.low, "high": self.high, "log": self.log}


class Real(_Numeric):
    """A float in [low, high], optionally log-scaled (`log=True` needs low > 0)."""

    kind = "float"


class Integer(_Numeric):
    """An int in [low, high] inclusive, optionally log-scaled."""

    kind = "int"
    integer = True


class Categorical(Dimension):
    """One of `choices` (str, number or bool); one-hot in the model space."""

    kind = "categorical"

    def __init__(self, choices: Sequence, condition: Any = None, default: Any = None, help: str = ""):
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
            raise CodesignError(f"Categorical: choices={choices!r} must be a list")
        choices = [_plain(c) for c in choices]
        if not choices:
            raise CodesignError("Categorical: choices=[] is empty")
        for c in choices:
            if not isinstance(c, (str, bool, int, float)) or c is None:
                raise CodesignError(f"Categorical: choice {c!r} must be a str, number or bool")
        if any(same_choice(a, b) for i, a in enumerate(choices) for b in choices[:i]):
            raise CodesignError(f"Categorical: choices={choices!r} has duplicates")
        self.choices = list(choices)
        self.n_model = len(self.choices)
        super().__init__(condition, default, help)
        if default is not None:
            self._default = self.coerce("default", default)

    def index(self, value) -> int:
        for i, choice in enumerate(self.choices):
            if same_choice(value, choice):
                return i
        raise KeyError(value)

    def from_cube(self, u: float):
        k = len(self.choices)
        return self.choices[min(int(float(u) * k), k - 1)]

    def to_model(self, value) -> np.ndarray:
        out = np.zeros(self.n_model)
        out[self.index(value)] = 1.0
        return out

    def from_model(self, u: np.ndarray):
        return self.choices[int(np.argmax(np.asarray(u)))]

    def project_model(self, block: np.ndarray) -> np.ndarray:
        """Vectorized `to_model(from_model(row))`: the one-hot of each row's largest entry."""
        out = np.zeros_like(block)
        out[np.arange(block.shape[0]), np.argmax(block, axis=1)] = 1.0
        return out

    def neutral(self) -> np.ndarray:
        return np.full(self.n_model, NEUTRAL_ONE_HOT)

    def grid_values(self, points: int) -> list:
        return list(self.choices)

    def coerce(self, name: str, value):
        declaration = {"type": "categorical", "choices": self.choices}
        return check_value(declaration, value, f"parameter {name!r}", error=CodesignError)

    def default(self):
        return self._default if self._default is not None else self.choices[0]

    def describe(self) -> dict:
        return {"choices": list(self.choices)}


class Fixed(Dimension):
    """A constant: reported in every params dict, invisible to samplers and the model."""

    kind = "fixed"
    n_cube = 0
    n_model = 0

    def __init__(self, value: Any, condition: Any = None, help: str = ""):
        value = _plain(value)
        if not isinstance(value, (str, bool, int, float)) or value is None:
            raise CodesignError(f"Fixed: value {value!r} must be a str, number or bool")
        self.value = value
        super().__init__(condition, None, help)

    def from_cube(self, u):
        return self.value

    def to_model(self, value) -> np.ndarray:
        return np.zeros(0)

    def from_model(self, u):
        return self.value

    def grid_values(self, points: int) -> list:
        return [self.value]

    def coerce(self, name: str, value):
        if not same_choice(value, self.value):
            raise CodesignError(f"parameter {name!r} = {value!r} differs from its fixed value {self.value!r}")
        return self.value

    def default(self):
        return self.value

    def describe(self) -> dict:
        return {"value": self.value}


def dimension_from_dict(name: str, spec: Any) -> Dimension:
    """A config value -> Dimension: a scalar is fixed; a table has low/high[/log/type] or choices
    (or value); `condition = ["encoder", ["delta"]]` or `{encoder = ["delta"]}` makes it conditional."""
    if isinstance(spec, Dimension):
        return spec
    if not isinstance(spec, Mapping):
        if isinstance(spec, (list, tuple)):
            raise CodesignError(
                f"space: parameter {name!r} = {spec!r}: write a list of options as {{choices = [...]}}"
            )
        try:
            return Fixed(spec)
        except CodesignError as error:
            raise CodesignError(f"space: parameter {name!r}: {error}") from None
    allowed = {"type", "low", "high", "log", "choices", "value", "condition", "default", "help"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise CodesignError(f"space: parameter {name!r} has unknown key {unknown[0]!r}; allowed: {sorted(allowed)}")
    kind = spec.get("type")
    if kind is None:
        if "value" in spec:
            kind = "fixed"
        elif "choices" in spec:
            kind = "categorical"
        elif "low" in spec or "high" in spec:
            both_int = all(isinstance(spec.get(k), int) and not isinstance(spec.get(k), bool) for k in ("low", "high"))
            kind = "int" if both_int else "float"
        else:
            raise CodesignError(f"space: parameter {name!r} = {dict(spec)!r} needs low/high, choices or value")
    common = {"condition": spec.get("condition"), "help": spec.get("help", "")}
    try:
        if kind in ("float", "int"):
            for key in ("low", "high"):
                if spec.get(key) is None:
                    raise CodesignError(f"space: parameter {name!r} ({kind}) is missing {key!r}")
            cls = Real if kind == "float" else Integer
            return cls(spec["low"], spec["high"], log=spec.get("log", False), default=spec.get("default"), **common)
        if kind == "categorical":
            if spec.get("choices") is None:
                raise CodesignError(f"space: parameter {name!r} (categorical) is missing 'choices'")
            return Categorical(spec["choices"], default=spec.get("default"), **common)
        if kind == "bool":
            return Categorical([False, True], default=spec.get("default"), **common)
        if kind == "fixed":
            return Fixed(spec.get("value"), **common)
    except CodesignError as error:
        message = str(error)
        if repr(name) in message:
            raise
        raise CodesignError(f"space: parameter {name!r}: {message}") from None
    raise CodesignError(
        f"space: parameter {name!r} has type {kind!r}; expected one of float, int, categorical, bool, fixed"
    )


class Space:
    """An ordered mapping name -> Dimension, with the maps samplers and models need."""

    def __init__(self, dimensions: Mapping[str, Any]):
        if not isinstance(dimensions, Mapping):
            raise CodesignError(f"Space: expected a dict name -> dimension, got {type(dimensions).__name__}")
        if not dimensions:
            raise CodesignError("Space: the space is empty (no parameters)")
        dims: dict[str, Dimension] = {}
        for name, dim in dimensions.items():
            if not isinstance(name, str) or not name:
                raise CodesignError(f"Space: parameter name {name!r} must be a non-empty string")
            dims[name] = dimension_from_dict(name, dim)
        self.dimensions = dims
        self._check_conditions()
        self.names = list(dims)
        self.free_names = [n for n, d in dims.items() if d.n_cube > 0]
        if not self.free_names:
            raise CodesignError("Space: every parameter is fixed; there is nothing to search")
        self._model_slices: dict[str, slice] = {}
        start = 0
        for name in self.free_names:
            size = dims[name].n_model
            self._model_slices[name] = slice(start, start + size)
            start += size
        self.model_dim = start
        self.cube_dim = len(self.free_names)

    # --- construction ---
    def _check_conditions(self) -> None:
        for name, dim in self.dimensions.items():
            if dim.condition is None:
                continue
            parent, values = dim.condition
            if parent not in self.dimensions:
                raise CodesignError(f"Space: parameter {name!r} is conditional on {parent!r}, which is not in the space")
            if parent == name:
                raise CodesignError(f"Space: parameter {name!r} is conditional on itself")
            pdim = self.dimensions[parent]
            for v in values:
                try:
                    pdim.coerce(parent, v)
                except CodesignError:
                    raise CodesignError(
                        f"Space: parameter {name!r} is conditional on {parent!r} = {v!r}, which {parent!r} cannot take"
                    ) from None
        for name in self.dimensions:  # cycles
            seen = {name}
            cur = self.dimensions[name].condition
            while cur is not None:
                if cur[0] in seen:
                    raise CodesignError(f"Space: conditions form a cycle through {name!r}")
                seen.add(cur[0])
                cur = self.dimensions[cur[0]].condition

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> "Space":
        """From a TOML-like table: `{"lr": {"low": 1e-3, "high": 0.1, "log": True}, "bits": 8}`."""
        return cls(dict(table))

    @classmethod
    def from_declarations(cls, decls: Sequence[Mapping], prefix: str = "") -> "Space":
        """From declared hyperparameters (dicts with name/type/low/high/log/choices/default/help).

        `prefix` is prepended to every name (and to condition parents, which are declared by
        the same component)."""
        dims: dict[str, Dimension] = {}
        for i, decl in enumerate(decls):
            if not isinstance(decl, Mapping) or not isinstance(decl.get("name"), str):
                raise CodesignError(f"declaration #{i} {decl!r} has no 'name'")
            name = prefix + decl["name"]
            if name in dims:
                raise CodesignError(f"declarations: duplicate parameter name {name!r}")
            kind = decl.get("type")
            spec: dict[str, Any] = {"type": kind, "help": decl.get("help") or ""}
            if kind in ("float", "int"):
                spec.update(low=decl.get("low"), high=decl.get("high"), log=decl.get("log", False))
            elif kind == "categorical":
                spec["choices"] = decl.get("choices")
            elif kind != "bool":
                raise CodesignError(
                    f"declaration {name!r} has type {kind!r}; expected one of float, int, categorical, bool"
                )
            if decl.get("default") is not None:
                spec["default"] = decl["default"]
            condition = _parse_condition(decl.get("condition"), f"declaration {name!r}")
            if condition is not None:
                spec["condition"] = (prefix + condition[0], list(condition[1]))
            dims[name] = dimension_from_dict(name, spec)
        return cls(dims)

    def merge(self, *others: "Space") -> "Space":
        """The union of this space and others; a name in two of them is an error."""
        dims = dict(self.dimensions)
        for other in others:
            for name, dim in other.dimensions.items():
                if name in dims:
                    raise CodesignError(f"Space.merge: duplicate parameter name {name!r}")
                dims[name] = dim
        return Space(dims)

    def __or__(self, other: "Space") -> "Space":
        return self.merge(other)

    # --- description ---
    def to_dict(self) -> dict:
        """A JSON-able description; equal descriptions mean equal spaces."""
        return {name: dim.to_dict() for name, dim in self.dimensions.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping]) -> "Space":
        return cls({name: dimension_from_dict(name, spec) for name, spec in data.items()})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __len__(self) -> int:
        return len(self.dimensions)

    def __iter__(self):
        return iter(self.dimensions)

    def __getitem__(self, name: str) -> Dimension:
        return self.dimensions[name]

    def __contains__(self, name: object) -> bool:
        return name in self.dimensions

    def __repr__(self) -> str:
        return f"Space({self.dimensions!r})"

    # --- activity ---
    def is_active(self, name: str, params: Mapping[str, Any]) -> bool:
        cond = self.dimensions[name].condition
        if cond is None:
            return True
        parent, values = cond
        if not self.is_active(parent, params) or parent not in params:
            return False
        return any(same_choice(params[parent], v) for v in values)

    def _fill(self, raw: Mapping[str, Any]) -> dict:
        """Keep only active params, in declaration order."""
        out: dict[str, Any] = {}
        for name in self.names:
            if name in raw and self.is_active(name, raw):
                out[name] = raw[name]
        return out

    # --- maps ---
    def from_cube(self, u: Sequence[float]) -> dict:
        """A point of the parameter cube (one coordinate per free parameter) -> params."""
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != self.cube_dim:
            raise CodesignError(f"Space.from_cube: expected {self.cube_dim} coordinates, got {u.shape[0]}")
        raw = {name: dim.value for name, dim in self.dimensions.items() if isinstance(dim, Fixed)}
        for i, name in enumerate(self.free_names):
            raw[name] = self.dimensions[name].from_cube(u[i])
        return self._fill(raw)

    def to_unit(self, params: Mapping[str, Any], check: bool = True) -> np.ndarray:
        """Params -> model-space vector (one-hot categoricals, neutral values for inactive params).
        `check=False` skips `validate` for params that already passed it (a study's trials)."""
        if check:
            params = self.validate(params)
        out = np.empty(self.model_dim)
        for name in self.free_names:
            dim = self.dimensions[name]
            sl = self._model_slices[name]
            out[sl] = dim.to_model(params[name]) if name in params else dim.neutral()
        return out

    def from_unit(self, u: Sequence[float]) -> dict:
        """Model-space vector (any real values) -> the nearest valid params."""
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != self.model_dim:
            raise CodesignError(f"Space.from_unit: expected {self.model_dim} coordinates, got {u.shape[0]}")
        raw = {name: dim.value for name, dim in self.dimensions.items() if isinstance(dim, Fixed)}
        for name in self.free_names:
            raw[name] = self.dimensions[name].from_model(u[self._model_slices[name]])
        return self._fill(raw)

    def project(self, u: np.ndarray) -> np.ndarray:
        """Model-space points (n, d) -> the model-space images of the params they round to.
        Vectorized (the acquisition optimizer projects thousands of candidates per proposal):
        every column block projects on its own, then inactive parameters take their neutral
        value; the same as `to_unit(from_unit(row))` row by row."""
        u = np.atleast_2d(np.asarray(u, dtype=float))
        out = np.empty_like(u)
        for name, sl in self._model_slices.items():
            out[:, sl] = self.dimensions[name].project_model(u[:, sl])
        return self._neutral_where_inactive(out)

    def cube_to_unit(self, U: np.ndarray) -> np.ndarray:
        """Points of the parameter cube (n, cube_dim) -> model space: `to_unit(from_cube(row))`
        for every row, vectorized."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        if U.shape[1] != self.cube_dim:
            raise CodesignError(f"Space.cube_to_unit: expected {self.cube_dim} coordinates, got {U.shape[1]}")
        out = np.empty((U.shape[0], self.model_dim))
        for i, name in enumerate(self.free_names):
            dim, sl = self.dimensions[name], self._model_slices[name]
            if isinstance(dim, Categorical):
                k = len(dim.choices)
                picks = np.minimum((U[:, i] * k).astype(int), k - 1)
                out[:, sl] = 0.0
                out[np.arange(U.shape[0]), sl.start + picks] = 1.0
            else:  # a numeric cube coordinate rounds to the same value as that model coordinate
                out[:, sl] = dim.project_model(U[:, i : i + 1])
        return self._neutral_where_inactive(out)

    def _neutral_where_inactive(self, out: np.ndarray) -> np.ndarray:
        """Set conditional parameters to their neutral value in the rows (projected model-space
        points) where their condition does not hold (in place; returned)."""
        active: dict[str, np.ndarray] = {}

        def value_of(name: str) -> np.ndarray:
            dim = self.dimensions[name]
            if isinstance(dim, Fixed):
                return np.full(out.shape[0], dim.value, dtype=object)
            block = out[:, self._model_slices[name]]
            if isinstance(dim, Categorical):
                return np.array(dim.choices, dtype=object)[np.argmax(block, axis=1)]
            return np.array([dim.from_model(row) for row in block], dtype=object)

        def is_active(name: str) -> np.ndarray:
            if name not in active:
                cond = self.dimensions[name].condition
                if cond is None:
                    active[name] = np.ones(out.shape[0], dtype=bool)
                else:
                    parent, values = cond
                    parent_values = value_of(parent)
                    hit = np.array([any(same_choice(p, v) for v in values) for p in parent_values], dtype=bool)
                    active[name] = is_active(parent) & hit
            return active[name]

        for name in self.free_names:
            if self.dimensions[name].condition is not None:
                inactive = ~is_active(name)
                out[inactive, self._model_slices[name]] = self.dimensions[name].neutral()
        return out

    def model_slices(self) -> dict[str, slice]:
        """Which model-space columns belong to each free parameter (for importance)."""
        return dict(self._model_slices)

    # --- sampling ---
    def sample(self, rng: np.random.Generator, n: int = 1) -> list[dict]:
        """`n` independent uniform draws (log-uniform where `log=True`)."""
        if not isinstance(rng, np.random.Generator):
            raise CodesignError(f"Space.sample: rng must be a numpy Generator, got {type(rng).__name__}")
        return [self.from_cube(row) for row in rng.random((int(n), self.cube_dim))]

    def grid(self, points_per_dim: int | Mapping[str, int] = 5) -> list[dict]:
        """Full factorial grid: `points_per_dim` values per numeric parameter (all integers when
        fewer), every choice of a categorical; inactive parameters drop out, duplicates removed."""
        per_dim = []
        for name in self.names:
            dim = self.dimensions[name]
            pts = points_per_dim.get(name, 5) if isinstance(points_per_dim, Mapping) else points_per_dim
            per_dim.append(dim.grid_values(int(pts)))
        seen: set[str] = set()
        out: list[dict] = []
        for combo in itertools.product(*per_dim):
            params = self._fill(dict(zip(self.names, combo)))
            key = json.dumps(params, sort_keys=True)
            if key not in seen:
                seen.add(key)
                out.append(params)
        return out

    def default(self) -> dict:
        """Each parameter's declared default (else the middle of its range / its first choice)."""
        return self._fill({name: dim.default() for name, dim in self.dimensions.items()})

    def validate(self, params: Mapping[str, Any]) -> dict:
        """Params with types normalized; an unknown, missing, inactive or out-of-range key is an error.

        Fixed parameters may be left out (they are filled in)."""
        if not isinstance(params, Mapping):
            raise CodesignError(f"params must be a dict, got {type(params).__name__}")
        for key in params:
            if key not in self.dimensions:
                raise CodesignError(f"parameter {key!r} is not in the search space (known: {self.names})")
        raw: dict[str, Any] = {}
        for name, dim in self.dimensions.items():
            if name in params:
                raw[name] = dim.coerce(name, params[name])
            elif isinstance(dim, Fixed):
                raw[name] = dim.value
        out = self._fill(raw)
        for name in self.names:
            if name in out:
                continue
            if name in params:
                parent = self.dimensions[name].condition[0]
                raise CodesignError(
                    f"parameter {name!r} is inactive (it needs {parent!r} in {list(self.dimensions[name].condition[1])})"
                )
            if self.is_active(name, raw):
                raise CodesignError(f"parameter {name!r} is missing from params")
        return out

    def key(self, params: Mapping[str, Any]) -> str:
        """A canonical string for params, for duplicate detection."""
        return json.dumps(self.validate(params), sort_keys=True)

