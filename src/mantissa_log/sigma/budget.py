"""Bounds on what one rule may ask the compiler to do, checked before pySigma or our backends run.

Compiling costs about 0.2 ms per detection value per dialect, more per regular expression (DuckDB
checks each), and a field path through unknown JSON doubles its reads per step; pySigma's condition
parser recurses per `not` and per bracket. A 256 KB body could therefore cost 15+ seconds or end in
a RecursionError. These limits sit far above real rules (SigmaHQ's largest lists hold a few hundred
values) and keep the worst body under a second:

- MAX_DETECTION_VALUES values under `detection` (every scalar but the condition),
- MAX_REGEX_VALUES of them with the `re` modifier,
- conditions of at most MAX_CONDITION_CHARS characters, nested at most MAX_CONDITION_DEPTH deep
  (each bracket and each `not` is a level),
- MAX_FIELD_TESTS comparisons per compiled expression (values times the ways a field is read),
  counted by the backend as it goes (see `FieldTestBudget`).
"""

from __future__ import annotations

import re
from typing import Any

from mantissa_log.sigma.common import UnsupportedSigma

MAX_DETECTION_VALUES = 1_000
MAX_REGEX_VALUES = 100
MAX_CONDITION_CHARS = 4_096
MAX_CONDITION_DEPTH = 20
MAX_FIELD_TESTS = 2_000

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_NOT_STRUCTURAL = frozenset({"and", "or", "of", "1", "all", "them"})


class RuleTooLarge(UnsupportedSigma):
    """The rule is over one of the bounds above."""


def _count(value: Any, regex: bool) -> tuple[int, int]:
    """(values, regex values) in a detection's value tree."""
    if isinstance(value, dict):
        total = regexes = 0
        for key, item in value.items():
            values, found = _count(item, regex or _has_re_modifier(key))
            total += values
            regexes += found
        return total, regexes
    if isinstance(value, list):
        total = regexes = 0
        for item in value:
            values, found = _count(item, regex)
            total += values
            regexes += found
        return total, regexes
    return 1, int(regex)


def _has_re_modifier(key: Any) -> bool:
    return "re" in str(key).split("|")[1:]


def condition_depth(condition: str) -> int:
    """How deep the condition nests: brackets and `not`s, each one level."""
    levels = [0]  # depth at each open bracket
    pending = 0  # `not`s waiting for their operand
    deepest = 0
    for token in _TOKEN.findall(condition):
        word = token.lower()
        if word == "not":
            pending += 1
        elif token == "(":
            levels.append(levels[-1] + pending + 1)
            pending = 0
        elif token == ")":
            if len(levels) > 1:
                levels.pop()
        elif word in ("and", "or"):
            pending = 0
        elif word not in _NOT_STRUCTURAL:
            deepest = max(deepest, levels[-1] + pending)
            pending = 0
        deepest = max(deepest, levels[-1] + pending)
    return deepest


def _check_condition(condition: Any) -> None:
    texts = condition if isinstance(condition, list) else [condition]
    for text in texts:
        if not isinstance(text, str):
            continue
        if len(text) > MAX_CONDITION_CHARS:
            raise RuleTooLarge(
                f"the condition is {len(text)} characters long (at most {MAX_CONDITION_CHARS})",
                field="detection.condition",
            )
        depth = condition_depth(text)
        if depth > MAX_CONDITION_DEPTH:
            raise RuleTooLarge(
                f"the condition nests {depth} levels deep (brackets and `not`s; at most {MAX_CONDITION_DEPTH})",
                field="detection.condition",
            )


def check_rule_size(document: dict[str, Any]) -> None:
    """Raise RuleTooLarge when one YAML document asks for more than the bounds allow."""
    detection = document.get("detection")
    if not isinstance(detection, dict):
        return
    _check_condition(detection.get("condition"))
    values = regexes = 0
    for name, item in detection.items():
        if name in ("condition", "timeframe"):
            continue
        found, found_re = _count(item, False)
        values += found
        regexes += found_re
    if values > MAX_DETECTION_VALUES:
        raise RuleTooLarge(
            f"the detection holds {values} values (at most {MAX_DETECTION_VALUES} per rule)", field="detection"
        )
    if regexes > MAX_REGEX_VALUES:
        raise RuleTooLarge(
            f"the detection holds {regexes} regular expressions (at most {MAX_REGEX_VALUES} per rule)",
            field="detection",
        )


class FieldTestBudget:
    """Counts the comparisons one expression emits; refuses the rule past MAX_FIELD_TESTS."""

    def __init__(self, limit: int = MAX_FIELD_TESTS) -> None:
        self.limit = limit
        self.spent = 0

    def spend(self, tests: int, field: str | None = None) -> None:
        self.spent += tests
        if self.spent > self.limit:
            raise RuleTooLarge(
                f"the rule compiles to more than {self.limit} field comparisons (values times the ways each "
                "field is read; a field path through unknown JSON is read several ways)",
                field=field or "detection",
            )
