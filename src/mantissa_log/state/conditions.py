"""Conditions for writes, as a small tree both backends understand.

DynamoDB gets a ConditionExpression; SQLite evaluates the same tree in Python inside the write
transaction. Only what the repositories need: existence, comparison, AND, OR.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

CompareOp = Literal["=", "<>", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class Exists:
    attribute: str


@dataclass(frozen=True)
class NotExists:
    attribute: str


@dataclass(frozen=True)
class Compare:
    attribute: str
    op: CompareOp
    value: Any


@dataclass(frozen=True)
class And:
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Condition, ...]


Condition = Exists | NotExists | Compare | And | Or


def all_of(*parts: Condition) -> And:
    return And(tuple(parts))


def any_of(*parts: Condition) -> Or:
    return Or(tuple(parts))


def evaluate(condition: Condition, item: Mapping[str, Any] | None) -> bool:
    """The condition's truth on an item (None = absent item), with DynamoDB's semantics."""
    current: Mapping[str, Any] = item or {}
    if isinstance(condition, Exists):
        return condition.attribute in current
    if isinstance(condition, NotExists):
        return condition.attribute not in current
    if isinstance(condition, And):
        return all(evaluate(part, item) for part in condition.parts)
    if isinstance(condition, Or):
        return any(evaluate(part, item) for part in condition.parts)
    if condition.attribute not in current:
        return False  # DynamoDB: a comparison with a missing attribute is false
    left = current[condition.attribute]
    right = condition.value
    try:
        return _compare(left, condition.op, right)
    except TypeError:
        return False


def _compare(left: Any, op: CompareOp, right: Any) -> bool:
    # DynamoDB types are distinct: a BOOL never equals or orders against a number.
    if isinstance(left, bool) != isinstance(right, bool):
        return op == "<>"
    if op == "=":
        return bool(left == right)
    if op == "<>":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)
