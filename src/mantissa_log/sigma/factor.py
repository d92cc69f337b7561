"""Shared field reads: many rules compare the same lowered field; compute each once per row.

A batch of rules evaluated in one scan repeats `lower(event."eventName")`, `lower(event."eventSource")`
and a few others dozens of times. `shared_reads` finds every `lower(<struct leaf of event>)` outside
string literals, names each distinct one once, and rewrites the expressions to use the names; the
caller computes the named values in a subquery (`with_reads`). Each rewritten expression is the
same function of the row as before, so `predicate` / `flag_expression` semantics are unchanged.

Only struct leaves are shared: they are cheap to read and to lower (DuckDB lowers a dictionary
vector once per distinct value). JSON reads (`json_extract_string`) stay where they are: inside a
rule's CASE chain they run only for rows that passed the rule's earlier conditions, which is far
cheaper than extracting them for every row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# `lower(event."a"."b")`: the backend's read of a struct leaf, lowered for a case-insensitive test.
_LOWERED_LEAF = re.compile(r'lower\((event(?:\."(?:[^"]|"")+")+)\)')
PREFIX = "__read_"


def _code_spans(expression: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_code) spans: string literals ('...', with '' escapes) are not code."""
    spans: list[tuple[int, int, bool]] = []
    position = 0
    while position < len(expression):
        quote = expression.find("'", position)
        if quote < 0:
            spans.append((position, len(expression), True))
            break
        if quote > position:
            spans.append((position, quote, True))
        end = quote + 1
        while True:
            end = expression.find("'", end)
            if end < 0:  # unterminated: leave the rest alone
                spans.append((quote, len(expression), False))
                return spans
            if expression.startswith("''", end):
                end += 2
                continue
            break
        spans.append((quote, end + 1, False))
        position = end + 1
    return spans


def shared_reads(expressions: Sequence[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """([(read SQL, column name), ...], rewritten expressions) for reads used more than once overall."""
    found: dict[str, int] = {}
    for expression in expressions:
        for start, end, code in _code_spans(expression):
            if code:
                for match in _LOWERED_LEAF.finditer(expression, start, end):
                    found[match.group(0)] = found.get(match.group(0), 0) + 1
    names = {read: f"{PREFIX}{i}" for i, read in enumerate(read for read, count in found.items() if count > 1)}
    if not names:
        return [], list(expressions)

    def rewrite(expression: str) -> str:
        parts = []
        for start, end, code in _code_spans(expression):
            text = expression[start:end]
            if code:
                text = _LOWERED_LEAF.sub(lambda match: names.get(match.group(0), match.group(0)), text)
            parts.append(text)
        return "".join(parts)

    return [(read, name) for read, name in names.items()], [rewrite(expression) for expression in expressions]


def with_reads(relation: str, reads: Sequence[tuple[str, str]]) -> str:
    """`relation` (text usable after FROM) with the shared reads added as columns."""
    if not reads:
        return relation
    columns = ", ".join(f"{read} AS {name}" for read, name in reads)
    return f"(SELECT *, {columns} FROM {relation} AS ev)"  # noqa: S608
