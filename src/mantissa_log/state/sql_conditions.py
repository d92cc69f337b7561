"""Write conditions (`state/conditions.py`) as SQLite SQL over a stored JSON document.

The SQLite backend judges a conditional update inside the UPDATE statement itself when the
condition can be said in SQL with exactly `conditions.evaluate`'s meaning (DynamoDB's rules), so
a batch of claims or outcomes is a few statements instead of a read, a decode, a check, an
encode and a write per item in Python. What cannot be said exactly here gives None, and the
caller keeps the Python path; both are held to the same cases by tests/state/test_sql_conditions.py.

DynamoDB's rules, as `evaluate` applies them: a comparison with a missing attribute is false;
values of different types are never equal and never ordered (`<>` between them is true, every
other operator false); strings order by code point (SQLite's BINARY order on UTF-8 is the same);
integers and floats compare as numbers. Only string, number (finite, within 64 bits) and boolean
operands are translated (booleans for `=` and `<>` only); anything else (null, lists, maps) stays
in Python.
"""

from __future__ import annotations

import math
import re
from typing import Any

from mantissa_log.state.conditions import And, Compare, Condition, Exists, NotExists, Or

# Attribute names that can sit in a JSON path as they are (anything else stays in Python).
PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64 = 2**63


def path(attribute: str) -> str | None:
    """The SQL literal of the JSON path of a top-level attribute, or None when not plain."""
    return f"'$.{attribute}'" if PLAIN_NAME.fullmatch(attribute) else None


def condition_sql(condition: Condition, column: str = "item") -> tuple[str, list[Any]] | None:
    """(SQL expression, parameters) true exactly where `evaluate(condition, item)` is, or None."""
    if isinstance(condition, Exists | NotExists):
        p = path(condition.attribute)
        if p is None:
            return None
        test = "IS NOT NULL" if isinstance(condition, Exists) else "IS NULL"
        return f"json_type({column}, {p}) {test}", []
    if isinstance(condition, And | Or):
        if not condition.parts:
            return ("1" if isinstance(condition, And) else "0"), []
        parts: list[str] = []
        params: list[Any] = []
        for part in condition.parts:
            done = condition_sql(part, column)
            if done is None:
                return None
            parts.append(f"({done[0]})")
            params.extend(done[1])
        return (" AND " if isinstance(condition, And) else " OR ").join(parts), params
    return _compare_sql(condition, column)


def _compare_sql(condition: Compare, column: str) -> tuple[str, list[Any]] | None:
    p = path(condition.attribute)
    if p is None:
        return None
    kind = f"json_type({column}, {p})"
    value = condition.value
    op = condition.op
    if isinstance(value, bool):
        if op not in ("=", "<>"):
            return None  # booleans ordered against booleans: left to Python
        name = "'true'" if value else "'false'"
        if op == "=":
            return f"{kind} = {name}", []
        return f"{kind} IS NOT NULL AND {kind} <> {name}", []
    if isinstance(value, str):
        same_type = f"{kind} = 'text'"
    elif (isinstance(value, int) and -_INT64 <= value < _INT64) or (isinstance(value, float) and math.isfinite(value)):
        same_type = f"{kind} IN ('integer', 'real')"
    else:
        return None
    extracted = f"json_extract({column}, {p})"
    if op == "<>":
        # Present and either of another type or a different value of the same type.
        return f"{kind} IS NOT NULL AND (NOT ({same_type}) OR {extracted} <> ?)", [value]
    return f"{same_type} AND {extracted} {op} ?", [value]
