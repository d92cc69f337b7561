"""Evaluating compiled rules over a relation of events, all rules of a source in one scan.

Plain rules: one aggregate query computes, per rule, the matches since the start of its
window, the matches that are new since its watermark, and a few sample events. Each rule's
match test is its CASE-chained flag expression (DuckDB short-circuits CASE in a projection,
not AND/OR); the lowered struct fields the rules share (`lower(event."eventName")`, ...) are
computed once per row in a subquery (`sigma.factor`), not once per rule: DuckDB pushes the
"any rule matched" filter below the flag projection and would otherwise evaluate every rule's
reads there again. Correlations (`event_count` with group-by and timespan) get one windowed query
each: a sliding count over event time per group.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from mantissa_log.domain.alerts import MAX_SAMPLES
from mantissa_log.sigma.compiler import CompiledRule
from mantissa_log.sigma.factor import shared_reads, with_reads

EVENT_TIME = "coalesce(event_time, ingest_time)"


@dataclass(frozen=True)
class RuleWindow:
    """Counting starts after `start`; matches after `watermark` are new."""

    start: datetime
    watermark: datetime


@dataclass
class GroupResult:
    group: dict[str, str | None] | None
    count: int
    new: int
    samples: list[dict[str, Any]] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None


def ts(value: datetime) -> str:
    """A TIMESTAMP literal in UTC, microsecond precision (the lake stores naive UTC)."""
    naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return f"TIMESTAMP '{naive.isoformat(sep=' ', timespec='microseconds')}'"


def _samples(raws: Sequence[str] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for raw in (raws or [])[:MAX_SAMPLES]:
        try:
            value = json.loads(raw)
        except ValueError:
            value = {"raw": raw}
        out.append(value if isinstance(value, dict) else {"value": value})
    return out


def evaluate_plain(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    rules: Sequence[CompiledRule],
    windows: Sequence[RuleWindow],
) -> list[GroupResult]:
    """One scan for every non-correlation rule; results in the order of `rules`."""
    if not rules:
        return []
    scan_start = min(w.start for w in windows)
    reads, expressions = shared_reads([rule.flag_expression for rule in rules])
    flags = ", ".join(f"({expression}) AS f{i}" for i, expression in enumerate(expressions))
    any_flag = " OR ".join(f"f{i}" for i in range(len(rules)))
    aggregates = []
    for i, window in enumerate(windows):
        in_window = f"f{i} AND ingest_time > {ts(window.start)}"
        aggregates.append(
            f"count(*) FILTER (WHERE {in_window}), "
            f"count(*) FILTER (WHERE {in_window} AND ingest_time > {ts(window.watermark)}), "
            f"list(raw ORDER BY t) FILTER (WHERE {in_window})[1:{MAX_SAMPLES}], "
            f"min(t) FILTER (WHERE {in_window}), max(t) FILTER (WHERE {in_window})"
        )
    scan = with_reads(relation, reads)
    sql = (
        f"SELECT {', '.join(aggregates)} FROM ("
        f"  SELECT * FROM (SELECT ingest_time, {EVENT_TIME} AS t, raw, {flags} FROM {scan} AS ev "
        f"  WHERE ingest_time > {ts(scan_start)}) WHERE {any_flag})"
    )
    row = con.execute(sql).fetchone()
    assert row is not None
    results = []
    for i in range(len(rules)):
        count, new, raws, first, last = row[i * 5 : i * 5 + 5]
        results.append(GroupResult(None, int(count or 0), int(new or 0), _samples(raws), first, last))
    return results


def evaluate_correlation(
    con: duckdb.DuckDBPyConnection, relation: str, rule: CompiledRule, window: RuleWindow
) -> list[GroupResult]:
    """Per group: the peak count within any `timespan` of event time; groups meeting the condition."""
    correlation = rule.correlation
    assert correlation is not None
    groups = list(correlation.group_by)
    group_cols = ", ".join(f"({expr}) AS g{i}" for i, expr in enumerate(groups))
    partition = ", ".join(f"g{i}" for i in range(len(groups))) or "1"
    op = {"gte": ">=", "gt": ">", "eq": "=", "lte": "<=", "lt": "<", "neq": "<>"}[correlation.condition_op]
    new = f"count(*) FILTER (WHERE ingest_time > {ts(window.watermark)})"
    sql = (
        f"WITH m AS (SELECT ingest_time, {EVENT_TIME} AS t, raw{', ' + group_cols if groups else ''} "
        f"  FROM {relation} AS ev WHERE ingest_time > {ts(window.start)} AND ({rule.predicate})), "
        f"w AS (SELECT *, count(*) OVER (PARTITION BY {partition} ORDER BY t RANGE BETWEEN "
        f"  INTERVAL {int(correlation.timespan_seconds)} SECOND PRECEDING AND CURRENT ROW) AS c FROM m) "
        f"SELECT {partition + ',' if groups else ''} max(c), {new}, list(raw ORDER BY t)[1:{MAX_SAMPLES}], "
        f"min(t), max(t) FROM w {'GROUP BY ' + partition if groups else ''} "
        f"HAVING max(c) {op} {int(correlation.condition_count)}"
    )
    results = []
    for row in con.execute(sql).fetchall():
        values = row[: len(groups)]
        peak, new, raws, first, last = row[len(groups) :]
        group = {name: (None if v is None else str(v)) for name, v in zip(correlation.group_names, values, strict=True)}
        results.append(GroupResult(group or None, int(peak), int(new or 0), _samples(raws), first, last))
    return results


def load_memory_table(con: duckdb.DuckDBPyConnection, name: str, structure_json: str, raws: Sequence[str]) -> str:
    """An in-memory relation shaped like the lake's (raw, event, times), for tests and hunts."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_src (idx BIGINT, raw VARCHAR)")
    con.executemany(f"INSERT INTO {name}_src VALUES (?, ?)", list(enumerate(raws)))
    event = f"json_transform(raw::JSON, '{structure_json}')" if structure_json != "{}" else "NULL::JSON"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT idx, raw, {event} AS event, "
        f"NULL::TIMESTAMP AS event_time, now()::TIMESTAMP AS ingest_time FROM {name}_src"
    )
    return name


def match_events(con: duckdb.DuckDBPyConnection, table: str, rule: CompiledRule) -> list[int]:
    """Indexes of the events in `table` that satisfy the rule's detection."""
    rows = con.execute(f"SELECT idx FROM {table} AS ev WHERE {rule.predicate} ORDER BY idx").fetchall()
    return [int(r[0]) for r in rows]
