"""Small pieces shared by the backends and the compiler."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionValueExpression
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError, SigmaRuleLocation
from sigma.types import SigmaType

# A comparison template applied to one SQL value (a column, a JSON read, a lambda parameter).
Pred = Callable[[str], str]
T = TypeVar("T", bound=SigmaType)


class UnsupportedSigma(SigmaFeatureNotSupportedByBackendError):
    """A rule uses something we refuse to translate; `field` names the detection field if any."""

    def __init__(self, message: str, *, field: str | None = None, source: SigmaRuleLocation | None = None) -> None:
        super().__init__(message, source=source)
        self.field = field


def value_of(cond: ConditionFieldEqualsValueExpression | ConditionValueExpression, kind: type[T]) -> T:
    """The condition's value, checked to be of the type pySigma's dispatch promised."""
    if not isinstance(cond.value, kind):
        raise UnsupportedSigma(f"unexpected value type {type(cond.value).__name__}")
    return cond.value


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def json_escape(text: str) -> str:
    """`text` as it appears inside a JSON string (quotes and backslashes escaped)."""
    return json.dumps(text, ensure_ascii=False)[1:-1]
