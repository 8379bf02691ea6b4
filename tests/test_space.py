"""Search spaces: bijections, conditionals, fixed params, declarations, configs, bad input."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.errors import CodesignError
from codesign.search.space import Categorical, Fixed, Integer, Real, Space


def mixed_space() -> Space:
    return Space(
        {
            "encoder": Categorical(["rate", "latency", "delta"]),
            "delta_threshold": Real(0.1, 1.0, condition=("encoder", ["delta"])),
            "lr": Real(1e-4, 1e-1, log=True),
            "timesteps": Integer(4, 64),
            "neurons": Integer(8, 1024, log=True),
            "bits": 8,
            "quantize": Categorical([False, True]),
        }
    )


def _close(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        if isinstance(a[k], float):
            if not math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif a[k] != b[k] or type(a[k]) is not type(b[k]):
            return False
    return True


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_params_unit_params_round_trip(seed):
    space = mixed_space()
    params = space.sample(np.random.default_rng(seed), 1)[0]
    u = space.to_unit(params)
    assert u.shape == (space.model_dim,)
    assert np.all((u >= 0) & (u <= 1))
    assert _close(space.from_unit(u), params)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=9, max_size=9))
def test_unit_params_unit_round_trip_after_projection(coords):
    """from_unit maps any point to valid params, and those are a fixed point of the projection."""
    space = mixed_space()
    params = space.from_unit(np.array(coords))
    assert space.validate(params) == params
    u = space.to_unit(params)
    assert np.allclose(space.to_unit(space.from_unit(u)), u)


def test_categorical_is_one_hot_not_ordinal():
    space = Space({"encoder": Categorical(["rate", "latency", "delta"]), "x": Real(0, 1)})
    assert space.model_dim == 4
    u = space.to_unit({"encoder": "latency", "x": 0.25})
    assert u.tolist() == [0.0, 1.0, 0.0, 0.25]


def test_conditional_parameter_absent_when_inactive():
    space = mixed_space()
    rng = np.random.default_rng(0)
    seen = set()
    for params in space.sample(rng, 200):
        seen.add(params["encoder"])
        assert ("delta_threshold" in params) == (params["encoder"] == "delta")
        assert params["bits"] == 8
    assert seen == {"rate", "latency", "delta"}
    inactive = space.to_unit({**space.default(), "encoder": "rate"})
    sl = space.model_slices()["delta_threshold"]
    assert inactive[sl].tolist() == [0.5]  # the neutral value, the same for every inactive point
    with pytest.raises(CodesignError, match="delta_threshold"):
        space.validate({**space.default(), "encoder": "rate", "delta_threshold": 0.5})
    with pytest.raises(CodesignError, match="delta_threshold.*missing"):
        space.validate({**space.default(), "encoder": "delta"})


def test_integer_and_log_sampling_cover_the_range():
    space = Space({"n": Integer(1, 4), "lr": Real(1e-4, 1.0, log=True)})
    samples = space.sample(np.random.default_rng(1), 2000)
    counts = np.bincount([p["n"] for p in samples], minlength=5)[1:]
    assert np.all(counts > 400)  # each integer equally likely (~500)
    logs = np.log10([p["lr"] for p in samples])
    assert abs(np.mean(logs < -2) - 0.5) < 0.05  # log-uniform: half below the geometric middle


def test_grid_drops_inactive_duplicates():
    space = Space({"encoder": Categorical(["rate", "delta"]), "th": Real(0, 1, condition=("encoder", "delta")), "n": Integer(1, 3)})
    grid = space.grid(4)
    assert len(grid) == 3 + 4 * 3  # rate x n  +  delta x th x n
    assert len({json.dumps(g, sort_keys=True) for g in grid}) == len(grid)
    assert {g["n"] for g in grid} == {1, 2, 3}


def test_default_and_declared_defaults():
    space = Space({"lr": Real(1e-3, 1e-1, log=True), "k": Integer(2, 4), "c": Categorical(["a", "b"], default="b")})
    d = space.default()
    assert math.isclose(d["lr"], 1e-2) and d["k"] == 3 and d["c"] == "b"


def test_from_declarations_with_prefix():
    decls = [
        {"name": "timesteps", "type": "int", "low": 4, "high": 32, "log": False, "choices": None, "default": 8, "help": "steps"},
        {"name": "rate", "type": "float", "low": 0.01, "high": 1.0, "log": True, "choices": None, "default": 0.1, "help": ""},
        {"name": "mode", "type": "categorical", "low": None, "high": None, "log": False, "choices": ["a", "b"], "default": "a", "help": ""},
        {"name": "signed", "type": "bool", "low": None, "high": None, "log": False, "choices": None, "default": False, "help": ""},
    ]
    space = Space.from_declarations(decls, prefix="enc.")
    assert space.names == ["enc.timesteps", "enc.rate", "enc.mode", "enc.signed"]
    assert isinstance(space["enc.timesteps"], Integer) and space["enc.rate"].log
    assert space["enc.signed"].choices == [False, True]
    assert space.default() == {"enc.timesteps": 8, "enc.rate": 0.1, "enc.mode": "a", "enc.signed": False}


def test_from_config_table_and_merge():
    space = Space.from_config(
        {"lr": {"low": 1e-3, "high": 1e-1, "log": True}, "encoder": {"choices": ["rate", "latency"]}, "bits": 8, "layers": {"low": 1, "high": 3}}
    )
    assert isinstance(space["lr"], Real) and isinstance(space["encoder"], Categorical)
    assert isinstance(space["bits"], Fixed) and isinstance(space["layers"], Integer)
    merged = space | Space({"decay": Integer(0, 4095)})
    assert merged.names[-1] == "decay" and len(merged) == 5
    with pytest.raises(CodesignError, match="'lr'"):
        merged.merge(Space({"lr": Real(0, 1)}))


def test_to_dict_is_json_and_detects_changes():
    space = mixed_space()
    text = json.dumps(space.to_dict())
    again = Space.from_dict(json.loads(text))
    assert again == space and again.to_dict() == space.to_dict()
    changed = Space.from_dict({**json.loads(text), "timesteps": {"type": "int", "low": 4, "high": 128}})
    assert changed != space


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: Space({}), "empty"),
        (lambda: Real(1.0, 1.0), "low=1.0"),
        (lambda: Integer(5, 2), "low=5"),
        (lambda: Real(0.0, 1.0, log=True), "low=0.0"),
        (lambda: Categorical([]), "empty"),
        (lambda: Categorical(["a", "a"]), "duplicates"),
        (lambda: Space({"x": Real(0, 1, condition=("missing", ["a"]))}), "'missing'"),
        (lambda: Space({"c": Categorical(["a"]), "x": Real(0, 1, condition=("c", ["zzz"]))}), "'zzz'"),
        (lambda: Space.from_config({"lr": {"low": 1e-3, "hi": 1.0}}), "'hi'"),
        (lambda: Space.from_config({"lr": {"low": 1e-3}}), "'high'"),
        (lambda: Space.from_config({"lr": {"low": 1e-3, "high": 1.0, "log": "false"}}), "log='false' must be True or False"),
        (lambda: Space.from_config({"lr": {"type": "complex", "low": 0, "high": 1}}), "'complex'"),
        (lambda: Space.from_declarations([{"name": "a", "type": "float", "low": 2, "high": 1}]), "low=2"),
        (lambda: Space.from_declarations([{"name": "a", "type": "int", "low": 1, "high": 2}] * 2), "duplicate.*'a'"),
        (lambda: Space({"a": 1, "b": "x"}), "nothing to search"),
    ],
)
def test_bad_space_input_raises_codesign_error(build, match):
    with pytest.raises(CodesignError, match=match):
        build()


def test_validate_names_bad_key_and_value():
    space = mixed_space()
    with pytest.raises(CodesignError, match="'nope'"):
        space.validate({**space.default(), "nope": 1})
    with pytest.raises(CodesignError, match=r"^parameter 'timesteps' = 999 is outside the allowed range \[4, 64\]$"):
        space.validate({**space.default(), "timesteps": 999})
    with pytest.raises(CodesignError, match="^parameter 'encoder' = 'spiky' is not one of"):
        space.validate({**space.default(), "encoder": "spiky"})
    assert issubclass(CodesignError, ValueError)


def test_vectorized_maps_equal_the_per_row_maps_with_nested_conditions():
    space = Space({
        "encoder": Categorical(["rate", "latency", "delta"]),
        "delta_threshold": Real(0.1, 1.0, condition=("encoder", ["delta"])),
        "mode": Categorical(["a", "b"], condition=("encoder", ["delta", "rate"])),
        "mode_b_gain": Integer(1, 9, log=True, condition=("mode", ["b"])),
        "fixed_parent": "on",
        "child_of_fixed": Real(0.0, 2.0, condition=("fixed_parent", ["on"])),
        "lr": Real(1e-4, 1e-1, log=True),
    })
    rng = np.random.default_rng(0)
    # the same parameters, and coordinates equal to rounding: numpy's array log may differ from
    # math.log in the last bit on CPUs with wide SIMD (seen with AVX-512: log(3)/log(9) = 0.4999999999999999)
    U = rng.random((400, space.cube_dim))
    _assert_same_points(space, space.cube_to_unit(U), np.stack([space.to_unit(space.from_cube(u)) for u in U]))
    M = rng.uniform(-0.2, 1.2, (400, space.model_dim))
    _assert_same_points(space, space.project(M), np.stack([space.to_unit(space.from_unit(row)) for row in M]))


def _assert_same_points(space, vectorized, per_row):
    for a, b in zip(vectorized, per_row):
        params_a, params_b = space.from_unit(a), space.from_unit(b)
        assert params_a.keys() == params_b.keys()
        for name, value in params_a.items():  # integers and choices equal, floats to rounding
            other = params_b[name]
            assert type(value) is type(other)
            assert value == other if not isinstance(value, float) else math.isclose(value, other, rel_tol=1e-12), name
    np.testing.assert_allclose(vectorized, per_row, rtol=0, atol=1e-12)
