"""One grammar for outcome rules: config constraints, the optimizer, and export --pick agree."""

import pytest
from test_config import with_change

from codesign.config import parse_config
from codesign.deploy.select import parse_rule
from codesign.errors import CodesignError
from codesign.rules import Comparison, parse_conjunction, parse_constraint
from codesign.search.samplers import RandomSampler
from codesign.search.space import Real, Space

SPELLINGS = ["cores <= 64", "cores<=64", "  cores<= 64 ", "cores <=64.0", "cores <= 6.4e1"]


@pytest.mark.parametrize("text", SPELLINGS)
def test_every_spelling_reads_the_same_everywhere(text):
    expected = Comparison("cores", "<=", 64.0)
    assert parse_constraint(text) == expected
    assert parse_rule(text, ["cores"]) == [expected]
    config = parse_config(with_change("constraints", "rules", [text]))
    assert config.constraints == [text]
    sampler = RandomSampler(Space({"x": Real(0, 1)}), {"accuracy": "maximize"}, constraints=[text])
    assert sampler.constraints == [expected]


def test_leading_dot_numbers_and_conjunctions():
    assert parse_conjunction("accuracy>=.9 and latency_us < 1.5e3") == [
        Comparison("accuracy", ">=", 0.9), Comparison("latency_us", "<", 1500.0)]


@pytest.mark.parametrize("text, message", [
    ("cores == 64", "operator '==' is not allowed"),
    ("cores <= 64 and spikes < 3", "must be one comparison"),
    ("cores <= inf", "expected a number"),
    ("cores <= 1e999", "must be a finite number"),
    ("cores 64", "expected an operator"),
    ("", "rule is empty"),
    ("__import__('os') > 1", "cannot read"),
])
def test_bad_constraints_are_refused_with_the_reason(text, message):
    with pytest.raises(CodesignError, match=message):
        parse_constraint(text)


def test_satisfied_follows_the_operator():
    assert parse_constraint("cores < 4").satisfied(3) and not parse_constraint("cores < 4").satisfied(4)
    assert parse_constraint("accuracy >= 0.5").satisfied(0.5)
    assert not parse_constraint("accuracy > 0.5").satisfied(0.5)
    assert parse_constraint("cores <= 4").upper and not parse_constraint("accuracy > 0.5").upper
