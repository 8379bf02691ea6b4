"""The one grammar for outcome rules: ``METRIC OP NUMBER``, optionally joined by ``and``.

Config constraints (`[constraints] rules`), the optimizer's constraints, pruning and
`export --pick` all read rules here, so they accept the same spellings: spaces around the
operator are optional (``cores<=64`` = ``cores <= 64``), numbers are any finite float
literal (``.9``, ``1e-3``, ``-2``), metric names are identifiers that may contain dots.
Rules are tokenized, never evaluated as Python.

Constraints are inequalities (the optimizer models the probability that a metric stays on
one side of a bound), so `parse_constraint` accepts ``<= >= < >``; a selection rule
(`parse_conjunction`) also accepts ``==`` and ``!=``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Collection, Mapping

from codesign.errors import CodesignError

OPERATORS = {
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
INEQUALITIES = ("<=", ">=", "<", ">")

_TOKEN = re.compile(
    r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z_.])"
    r"|(?P<op><=|>=|==|!=|<|>)|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)


@dataclass(frozen=True)
class Comparison:
    """``metric op bound``: one clause of a rule."""

    metric: str
    op: str
    bound: float

    @property
    def upper(self) -> bool:
        """True when the metric must stay below the bound."""
        return self.op in ("<=", "<")

    def satisfied(self, value: float) -> bool:
        return bool(OPERATORS[self.op](value, self.bound))

    def holds(self, record) -> bool:
        """Whether a trial record (anything with `values` and `metrics` dicts) satisfies it."""
        actual = metric_value(record, self.metric)
        return actual is not None and self.satisfied(actual)

    def shortfall(self, record) -> float:
        """How far a record is from satisfying this comparison (0 when it does)."""
        actual = metric_value(record, self.metric)
        if actual is None:
            return math.inf
        if self.satisfied(actual):
            return 0.0
        return abs(actual - self.bound) if self.op != "!=" else 1.0

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


def metric_value(record, name: str) -> float | None:
    """The number a trial reported under `name`: its objective values first, then its metrics."""
    for source in (getattr(record, "values", None) or {}, getattr(record, "metrics", None) or {}):
        value = source.get(name) if isinstance(source, Mapping) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens, position = [], 0
    while position < len(text) and text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise CodesignError(f"rule {text!r}: cannot read {text[position:].strip()!r} (expected METRIC OP NUMBER)")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


def parse_conjunction(
    text: str, metrics: Collection[str] | None = None, operators: Collection[str] = tuple(OPERATORS)
) -> list[Comparison]:
    """``METRIC OP NUMBER (and METRIC OP NUMBER)*`` -> comparisons.

    `metrics`, when given, are the names a rule may use; errors quote the rule and name the
    position, the unknown metric or the operator that is not allowed."""
    if isinstance(text, Comparison):
        return [text]
    if not isinstance(text, str):
        raise CodesignError(f"rule {text!r} must be a string like 'cores <= 64'")
    tokens = _tokens(text)
    if not tokens:
        raise CodesignError("rule is empty: expected METRIC OP NUMBER, e.g. 'cores <= 64'")
    comparisons, index = [], 0
    expected = (("word", "a metric name"), ("op", f"an operator ({' '.join(operators)})"), ("number", "a number"))
    while True:
        clause = tokens[index : index + 3]
        for slot, (kind, what) in enumerate(expected):
            if slot >= len(clause):
                raise CodesignError(f"rule {text!r}: expected {what} at the end")
            found_kind, found, where = clause[slot]
            if found_kind != kind or (kind == "word" and found.lower() == "and"):
                raise CodesignError(f"rule {text!r}: expected {what} at position {where}, found {found!r}")
        metric, op, raw = clause[0][1], clause[1][1], clause[2][1]
        if op not in operators:
            raise CodesignError(f"rule {text!r}: operator {op!r} is not allowed here (use one of {' '.join(operators)})")
        if metrics is not None and metric not in metrics:
            raise CodesignError(f"rule {text!r}: unknown metric {metric!r}; known metrics: {', '.join(metrics)}")
        bound = float(raw)
        if not math.isfinite(bound):
            raise CodesignError(f"rule {text!r}: bound {raw!r} must be a finite number")
        comparisons.append(Comparison(metric, op, bound))
        index += 3
        if index == len(tokens):
            return comparisons
        kind, word, where = tokens[index]
        if kind != "word" or word.lower() != "and":
            raise CodesignError(f"rule {text!r}: expected 'and' at position {where}, found {word!r}")
        index += 1
        if index == len(tokens):
            raise CodesignError(f"rule {text!r}: nothing after the final 'and'")


def parse_constraint(text: "str | Comparison", metrics: Collection[str] | None = None) -> Comparison:
    """One outcome constraint, ``METRIC OP NUMBER`` with OP one of ``<= >= < >``."""
    if isinstance(text, Comparison):
        if text.op not in INEQUALITIES:
            raise CodesignError(f"constraint '{text}': operator {text.op!r} is not one of {' '.join(INEQUALITIES)}")
        return text
    comparisons = parse_conjunction(text, metrics, INEQUALITIES)
    if len(comparisons) != 1:
        raise CodesignError(f"constraint {text!r} must be one comparison; give each as its own rule")
    return comparisons[0]
