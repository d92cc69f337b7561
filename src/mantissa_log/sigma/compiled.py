"""What compiling a Sigma rule produces: SQL text per dialect (plain data, no pySigma import).

Kept apart from `compiler` so that code which only runs compiled rules (hunts from the compiled-rule
cache, the detection engine) never pays for importing pySigma.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from mantissa_log.errors import ValidationFailed

# Correlation condition operators: Sigma's name -> SQL.
SQL_OPERATORS: dict[str, str] = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "=", "neq": "<>"}


# A rule's gate (`sigma.gates`): clauses that must all hold, each a disjunction of tests
# `(read SQL, op, lower-cased text)`, op one of eq / prefix / suffix / contains.
Test = tuple[str, str, str]
Clause = tuple[Test, ...]
Gate = tuple[Clause, ...]


class RuleCompileError(ValidationFailed):
    """A Sigma rule we refuse to compile; the message says why, `field` says where."""

    code = "rule_compile"


class Correlation(NamedTuple):
    """An event_count correlation: count matching events per group within `timespan_seconds`."""

    type: str  # "event_count"
    group_by: tuple[str, ...]  # DuckDB SQL over raw/event, one per group-by field
    athena_group_by: tuple[str, ...]
    group_names: tuple[str, ...]  # the group-by fields as the rule names them
    timespan_seconds: int
    condition_op: str  # Sigma's operator name: lt, lte, gt, gte, eq, neq
    condition_count: int
    rule_refs: tuple[str, ...]  # the referenced rules as the correlation names them


class CompiledRule(NamedTuple):
    rule_id: str | None
    title: str
    source: str  # key of SOURCES
    predicate: str  # DuckDB boolean SQL over raw/event
    flag_expression: str  # the same truth table as CASE chains; never NULL
    athena_predicate: str
    correlation: Correlation | None = None
    gates: Gate = ()  # what every matching event holds; empty: nothing known (`sigma.gates`)


def to_data(rule: CompiledRule) -> dict[str, Any]:
    """A compiled rule as JSON-compatible data (the compiled-rule cache)."""
    data = rule._asdict()
    if rule.correlation is not None:
        data["correlation"] = rule.correlation._asdict()
    return data


def from_data(data: dict[str, Any]) -> CompiledRule:
    correlation = data.get("correlation")
    fields = {k: v for k, v in data.items() if k != "correlation"}
    fields["gates"] = tuple(tuple(tuple(test) for test in clause) for clause in data.get("gates", ()))
    if correlation is not None:
        corr: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in correlation.items()}
        return CompiledRule(**fields, correlation=Correlation(**corr))
    return CompiledRule(**fields)


def gate_holds(gate: Gate, values: Mapping[str, AbstractSet[str]]) -> bool:
    """Whether an input whose events' distinct lowered values per read are `values` could pass every
    clause of the gate (some value satisfies some test of each clause)."""
    return all(any(test_holds(op, text, values.get(read, frozenset())) for read, op, text in clause) for clause in gate)


def test_holds(op: str, text: str, values: AbstractSet[str]) -> bool:
    if op == "eq":
        return text in values
    if op == "prefix":
        return any(value.startswith(text) for value in values)
    if op == "suffix":
        return any(value.endswith(text) for value in values)
    return any(text in value for value in values)
