"""SQL text for detection over a relation of events (DuckDB dialect).

Plain rules: one aggregate query computes, per rule, the matches since the start of its window,
the matches that are new since its watermark, and a few sample events (`min_by(raw, t, n)`: the
earliest n, without building the list of every match). Each rule's match test is its CASE-chained
flag expression (DuckDB short-circuits CASE in a projection, not AND/OR); the lowered struct
fields the rules share (`lower(event."eventName")`, ...) are computed once per row in a subquery
(`sigma.factor`), not once per rule: DuckDB pushes the "any rule matched" filter below the flag
projection and would otherwise evaluate every rule's reads there again.

Correlations (`event_count` with group-by and timespan) get one windowed query each: a sliding
count over event time per group.

Everything interpolated is ours: compiled rule SQL, timestamps we format, relation text we build.
"""

from __future__ import annotations

from collections.abc import Sequence

from mantissa_log.domain.alerts import MAX_SAMPLES
from mantissa_log.lake.detect.model import RuleScan
from mantissa_log.lake.sql import timestamp_literal
from mantissa_log.sigma.compiled import SQL_OPERATORS, CompiledRule, Correlation
from mantissa_log.sigma.factor import shared_reads, with_reads

EVENT_TIME = "coalesce(event_time, ingest_time)"
# Columns per plain rule in the aggregate row: count, new, samples.
PLAIN_COLUMNS = 3


def plain_scan(relation: str, scans: Sequence[RuleScan]) -> str:
    """One row: for every rule, `count, new, samples` (PLAIN_COLUMNS values each), in order."""
    scan_start = min(s.window.start for s in scans)
    reads, expressions = shared_reads([s.rule.flag_expression for s in scans])
    flags = ", ".join(f"({expression}) AS f{i}" for i, expression in enumerate(expressions))
    any_flag = " OR ".join(f"f{i}" for i in range(len(scans)))
    aggregates = []
    for i, scan in enumerate(scans):
        window = scan.window
        start, end = timestamp_literal(window.start), timestamp_literal(window.end)
        in_window = f"f{i} AND ingest_time > {start} AND ingest_time <= {end}"
        aggregates.append(
            f"count(*) FILTER (WHERE {in_window}), "
            f"count(*) FILTER (WHERE {in_window} AND ingest_time > {timestamp_literal(scan.window.watermark)}), "
            f"min_by(raw, t, {MAX_SAMPLES}) FILTER (WHERE {in_window})"
        )
    source = with_reads(relation, reads)
    return (
        f"SELECT {', '.join(aggregates)} FROM ("
        f"  SELECT * FROM (SELECT ingest_time, {EVENT_TIME} AS t, raw, {flags} FROM {source} AS ev "
        f"  WHERE ingest_time > {timestamp_literal(scan_start)}) WHERE {any_flag})"
    )


def correlation_scan(relation: str, rule: CompiledRule, scan: RuleScan) -> str:
    """Rows `group values..., peak count, new, samples` for the groups meeting the condition."""
    correlation = rule.correlation
    assert correlation is not None
    window = scan.window
    partition = _partition(correlation)
    group_cols = ", ".join(f"({expr}) AS g{i}" for i, expr in enumerate(correlation.group_by))
    new = f"count(*) FILTER (WHERE ingest_time > {timestamp_literal(window.watermark)})"
    grouped = bool(correlation.group_by)
    return (
        f"WITH m AS (SELECT ingest_time, {EVENT_TIME} AS t, raw{', ' + group_cols if grouped else ''} "
        f"  FROM {relation} AS ev WHERE ingest_time > {timestamp_literal(window.start)} "
        f"  AND ingest_time <= {timestamp_literal(window.end)} AND ({rule.predicate})), "
        f"w AS (SELECT *, count(*) OVER (PARTITION BY {partition} ORDER BY t RANGE BETWEEN "
        f"  INTERVAL {int(correlation.timespan_seconds)} SECOND PRECEDING AND CURRENT ROW) AS c FROM m) "
        f"SELECT {partition + ',' if grouped else ''} max(c), {new}, min_by(raw, t, {MAX_SAMPLES}) "
        f"FROM w {'GROUP BY ' + partition if grouped else ''} "
        f"HAVING max(c) {SQL_OPERATORS[correlation.condition_op]} {int(correlation.condition_count)}"
    )


def _partition(correlation: Correlation) -> str:
    return ", ".join(f"g{i}" for i in range(len(correlation.group_by))) or "1"


def memory_table(name: str, structure_json: str) -> tuple[str, str]:
    """Statements for a lake-shaped in-memory table (rule tests): fill `(idx, raw)` from one list
    parameter (one conversion, no per-row statements), then derive the lake's columns."""
    event = f"json_transform(raw::JSON, '{structure_json}')" if structure_json != "{}" else "NULL::JSON"
    return (
        f"CREATE OR REPLACE TEMP TABLE {name}_src AS "
        "SELECT unnest(range(len($1::VARCHAR[]))) AS idx, unnest($1::VARCHAR[]) AS raw",
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT idx, raw, {event} AS event, "
        f"NULL::TIMESTAMP AS event_time, now()::TIMESTAMP AS ingest_time FROM {name}_src",
    )


def matching_positions(table: str, rule: CompiledRule) -> str:
    return f"SELECT idx FROM {table} AS ev WHERE {rule.predicate} ORDER BY idx"
