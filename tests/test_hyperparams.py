"""hyperparams: the one set of rules every declared value follows, and the components that use it."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from codesign.config import hardware_declarations, parse_config
from codesign.errors import CodesignError
from codesign.search.space import Integer, Space
from codesign.training import TRAINER_NAMES, get_trainer, hardware_hyperparameters
from codesign.training.runner import resolve_params
from encoders import ENCODER_NAMES, EncodingError, encoder_class, get_encoder
from hw_models import load_profile
from hyperparams import HyperparameterError, check_bounds, check_value, declare, resolve, same_choice

RATE = declare("rate", "float", 0.5, "a probability", low=0.0, high=1.0)
BINS = declare("bins", "int", 8, "a count", low=2, high=32)
FLAG = declare("flag", "bool", False, "a switch")
MODE = declare("mode", "categorical", "a", "a choice", choices=["a", 1, True])


# --- the value rules ---------------------------------------------------------------------------

def test_a_bool_takes_only_true_or_false():
    assert check_value(FLAG, True) is True and check_value(FLAG, np.bool_(False)) is False
    for value in (0, 1, 1.0, "false", "True", None):
        with pytest.raises(HyperparameterError, match=rf"^flag = {re.escape(repr(value))} is not a bool"):
            check_value(FLAG, value)


def test_an_int_refuses_bools_and_fractions_and_takes_integral_numbers_as_int():
    for value, expected in ((3, 3), (3.0, 3), (np.int64(7), 7), (np.float32(4.0), 4)):
        result = check_value(BINS, value)
        assert result == expected and type(result) is int
    with pytest.raises(HyperparameterError, match=r"^bins = True is not a number$"):
        check_value(BINS, True)
    with pytest.raises(HyperparameterError, match=r"^bins = 2\.5 is not an integer$"):
        check_value(BINS, 2.5)
    with pytest.raises(HyperparameterError, match=r"^bins = '8' is not a number$"):
        check_value(BINS, "8")


def test_a_float_is_returned_as_a_python_float():
    result = check_value(RATE, np.float32(0.25))
    assert result == 0.25 and type(result) is float
    assert type(check_value(RATE, 1)) is float
    with pytest.raises(HyperparameterError, match=r"^rate = False is not a number$"):
        check_value(RATE, False)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan")])
@pytest.mark.parametrize("declaration", [RATE, BINS], ids=["float", "int"])
def test_non_finite_numbers_are_refused(declaration, value):
    with pytest.raises(HyperparameterError, match=rf"^{declaration['name']} = .* is not finite$"):
        check_value(declaration, value)


def test_range_is_inclusive_and_the_error_names_the_path():
    assert check_value(BINS, 2) == 2 and check_value(BINS, 32) == 32
    with pytest.raises(HyperparameterError, match=r"^bins = 33 is outside the allowed range \[2, 32\]$"):
        check_value(BINS, 33)
    with pytest.raises(HyperparameterError, match=r"^encoding\.population\.bins = 1 is outside the allowed range \[2, 32\]$"):
        check_value(BINS, 1, "encoding.population.bins")


def test_a_choice_must_match_in_value_and_kind():
    assert check_value(MODE, "a") == "a" and check_value(MODE, np.int64(1)) == 1
    assert check_value(MODE, True) is True and check_value(MODE, 1) is not True
    assert not same_choice(True, 1) and not same_choice(1, True) and not same_choice("1", 1)
    assert same_choice(1.0, 1) and same_choice(np.bool_(True), True)
    with pytest.raises(HyperparameterError, match=r"^mode = 'b' is not one of \['a', 1, True\]$"):
        check_value(MODE, "b")
    with pytest.raises(HyperparameterError, match=r"is not one of"):
        check_value(declare("on", "categorical", True, "x", choices=[True, False]), 1)


def test_the_caller_picks_the_exception_type():
    with pytest.raises(CodesignError, match=r"^hardware\.du = 5000 is outside"):
        check_value(declare("du", "int", 0, "x", low=0, high=4096), 5000, "hardware.du", error=CodesignError)


# --- declarations and ranges -------------------------------------------------------------------

def test_declare_gives_the_plain_dict_with_every_key():
    assert RATE == {"name": "rate", "type": "float", "low": 0.0, "high": 1.0, "log": False, "choices": None,
                    "default": 0.5, "help": "a probability"}
    assert FLAG["low"] is None and FLAG["choices"] is None
    assert declare("pinned", "int", 0, "a chip without delays", low=0, high=0)["high"] == 0


@pytest.mark.parametrize("arguments, message", [
    (dict(type="complex", default=0), "type 'complex' is not one of"),
    (dict(type="float", default=0.5, low=0.0), "high=None must be a finite number"),
    (dict(type="float", default=0.5, low=0.0, high=math.inf), "high=inf must be a finite number"),
    (dict(type="int", default=1, low=0.5, high=4), "low=0.5 must be an integer"),
    (dict(type="float", default=0.5, low=1.0, high=0.0), "low=1.0 must not be above high=0.0"),
    (dict(type="float", default=0.5, low=0.0, high=1.0, log=True), "a log-scaled range needs low > 0"),
    (dict(type="float", default=0.5, low=0.1, high=1.0, log="false"), "log='false' must be True or False"),
    (dict(type="categorical", default="a"), "needs a non-empty list of choices"),
    (dict(type="float", default=0.5, low=0.0, high=1.0, choices=[0.5]), "choices apply to a categorical"),
    (dict(type="bool", default=False, low=0, high=1), "low, high and log apply to numbers"),
    (dict(type="float", default=2.0, low=0.0, high=1.0), "default of p = 2.0 is outside the allowed range [0.0, 1.0]"),
    (dict(type="bool", default=0), "default of p = 0 is not a bool"),
])
def test_bad_declarations_are_refused(arguments, message):
    kind, default = arguments.pop("type"), arguments.pop("default")
    with pytest.raises(HyperparameterError) as error:
        declare("p", kind, default, "help", **arguments)
    assert message in str(error.value)


def test_a_search_range_needs_room_a_declaration_does_not():
    assert check_bounds("r", "int", 1.0, 4) == (1, 4)
    with pytest.raises(HyperparameterError, match=r"^r: low=3 must be below high=3$"):
        check_bounds("r", "int", 3, 3)
    assert check_bounds("r", "int", 3, 3, single_value=True) == (3, 3)


def test_resolve_fills_defaults_and_refuses_unknown_names():
    assert resolve([RATE, BINS], {"bins": 4.0}, owner="encoder 'x'") == {"rate": 0.5, "bins": 4}
    unknown = r"^encoder 'x': unknown hyperparameter\(s\) \['bin'\]; known ones are \['rate', 'bins'\]$"
    with pytest.raises(HyperparameterError, match=unknown):
        resolve([RATE, BINS], {"bin": 4}, owner="encoder 'x'")
    with pytest.raises(EncodingError, match=r"^encoder 'x': bins = 40 is outside"):
        resolve([RATE, BINS], {"bins": 40}, owner="encoder 'x'", error=EncodingError)


# --- every component goes through it -----------------------------------------------------------

def _component_declarations():
    yield from ((f"encoder {name}", decl) for name in ENCODER_NAMES for decl in encoder_class(name).hyperparameters())
    yield from ((f"trainer {name}", decl) for name in TRAINER_NAMES for decl in get_trainer(name).hyperparameters())
    yield from (("hardware", decl) for decl in hardware_declarations("loihi1"))


def test_every_component_declaration_is_what_declare_gives():
    for owner, decl in _component_declarations():
        again = declare(decl["name"], decl["type"], decl["default"], decl["help"], low=decl["low"],
                        high=decl["high"], log=decl["log"], choices=decl["choices"])
        assert again == decl, (owner, decl["name"])


OUT_OF_RANGE = r"^{owner}: {name} = {value} is outside the allowed range \[{low}, {high}\]$"


def test_encoders_and_trainers_refuse_out_of_range_values_in_the_same_words():
    with pytest.raises(EncodingError, match=OUT_OF_RANGE.format(
            owner="encoder 'rate'", name="max_rate", value=r"1\.5", low=r"0\.01", high=r"1\.0")):
        get_encoder("rate", max_rate=1.5)
    with pytest.raises(CodesignError, match=OUT_OF_RANGE.format(
            owner="trainer 'slayer'", name="learning_rate", value=r"2\.0", low=r"1e-05", high=r"1\.0")):
        get_trainer("slayer").resolve({"learning_rate": 2.0})
    with pytest.raises(CodesignError, match=OUT_OF_RANGE.format(
            owner=r"hardware \(profile 'loihi2'\)", name="du", value="5000", low="0", high="4096")):
        resolve_params("slayer", {"du": 5000}, load_profile("loihi2"))


def test_config_and_space_use_the_same_words_with_their_own_path():
    with pytest.raises(CodesignError, match=r"hardware\.du = 5000 is outside the allowed range \[0, 4096\]$"):
        parse_config({"hardware": {"profile": "loihi2", "du": 5000}})
    with pytest.raises(CodesignError, match=r"^parameter 'du' = 5000 is outside the allowed range \[0, 4096\]$"):
        Integer(0, 4096).coerce("du", 5000)


def test_the_bool_rule_holds_in_every_layer():
    with pytest.raises(EncodingError, match=r"single_spike = 1 is not a bool"):
        get_encoder("latency", single_spike=1)
    with pytest.raises(CodesignError, match=r"^trainer 'slayer': learn_delays = 1 is not a bool"):
        get_trainer("slayer").resolve({"learn_delays": 1})
    with pytest.raises(CodesignError, match=r"training\.slayer\.learn_delays = 0 is not a bool"):
        parse_config({"training": {"trainers": ["slayer"], "slayer": {"learn_delays": 0}}})
    space = Space.from_declarations(get_trainer("slayer").hyperparameters())
    with pytest.raises(CodesignError, match=r"^parameter 'learn_delays' = 1 is not one of \[False, True\]$"):
        space.validate({**space.default(), "learn_delays": 1})
    assert get_trainer("slayer").resolve({"learn_delays": np.bool_(True)})["learn_delays"] is True


def test_hardware_ranges_follow_the_profile_through_the_shared_check():
    declared = {decl["name"]: decl for decl in hardware_hyperparameters("loihi1")}
    assert check_value(declared["max_delay"], 62) == 62
    with pytest.raises(HyperparameterError, match=r"^max_delay = 63 is outside the allowed range \[0, 62\]$"):
        check_value(declared["max_delay"], 63)
