"""`DetectionEngine` on Athena, over the S3 lake (`MANTISSA_LAKE=s3`).

The plain rules of a source are one query in the configured workgroup (whose bytes-scanned cutoff
cancels a runaway query): the single-scan form, each rule's compiled Athena predicate a flag over
one scan of the union of their windows of ingest time, pruned to the windows' `date` partitions,
answering per rule its count, new count and earliest samples. If that query fails, each rule runs
alone (`plain_query`), so one rule's bad SQL is that rule's failure only.
Queries are polled with exponential backoff and their results read page by page (`lake.athena_run`). What a scan
cost is Athena's own statistics (`DataScannedInBytes`, `EngineExecutionTimeInMillis`), summed
over the scan's queries. A failed, cancelled or timed-out query of one rule is its failure only.

Correlation rules (`event_count` with group-by and timespan) are one query each, the DuckDB form
(`lake.detect.duckdb_sql.correlation_scan`) written in Trino over the compiled Athena SQL: a
sliding count over event time per group, the groups meeting the condition with their new count
and earliest samples. Rule tests (`match_events`) run in memory with DuckDB, as everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from mantissa_log.domain.alerts import MAX_SAMPLES
from mantissa_log.lake.athena_run import AthenaQueryFailed, AthenaRunner
from mantissa_log.lake.detect.duckdb_engine import DuckDbEngine, samples
from mantissa_log.lake.detect.model import GroupResult, RuleFailure, RuleScan, ScanOutcome, failure
from mantissa_log.lake.s3lake import S3LogLake, floor_ms
from mantissa_log.lake.sql import naive_utc, quote_ident
from mantissa_log.sigma.compiled import SQL_OPERATORS, CompiledRule

__all__ = ["AthenaEngine", "AthenaQueryFailed", "correlation_query", "plain_query", "single_scan_query"]


def athena_timestamp(moment: datetime) -> str:
    return f"TIMESTAMP '{naive_utc(floor_ms(moment)).isoformat(sep=' ', timespec='milliseconds')}'"


def plain_query(database: str, scan: RuleScan) -> str:
    """Rows: up to MAX_SAMPLES earliest matches `raw, count, new` (count/new repeat on every row)."""
    window = scan.window
    first, last = naive_utc(floor_ms(window.start)).date(), naive_utc(floor_ms(window.end)).date()
    table = f"{quote_ident(database)}.{quote_ident(scan.rule.source)}"
    watermark = athena_timestamp(window.watermark)
    return (
        "SELECT raw, c, n FROM ("
        "SELECT raw, coalesce(event_time, ingest_time) AS t, count(*) OVER () AS c, "
        f"sum(CASE WHEN ingest_time > {watermark} THEN 1 ELSE 0 END) OVER () AS n "
        f"FROM {table} AS ev "
        f"WHERE \"date\" BETWEEN '{first.isoformat()}' AND '{last.isoformat()}' "
        f"AND ingest_time > {athena_timestamp(window.start)} AND ingest_time <= {athena_timestamp(window.end)} "
        f"AND ({scan.rule.athena_predicate})"
        f") ORDER BY t LIMIT {MAX_SAMPLES}"
    )


def single_scan_query(database: str, scans: Sequence[RuleScan]) -> str:
    """One query for every plain rule of a source (one scan of the union of their windows).

    One row: per rule its window's match count, new-match count and earliest samples as a JSON
    array of raw texts (PLAIN_COLUMNS values each, in order); the form DuckDB runs too.
    """
    start = min(s.window.start for s in scans)
    end = max(s.window.end for s in scans)
    first, last = naive_utc(floor_ms(start)).date(), naive_utc(floor_ms(end)).date()
    table = f"{quote_ident(database)}.{quote_ident(scans[0].rule.source)}"
    flags = ", ".join(f"COALESCE(({s.rule.athena_predicate}), false) AS f{i}" for i, s in enumerate(scans))
    columns = []
    for i, scan in enumerate(scans):
        window = scan.window
        hit = (
            f"f{i} AND ingest_time > {athena_timestamp(window.start)} AND ingest_time <= {athena_timestamp(window.end)}"
        )
        columns.append(
            f"count_if({hit}), count_if({hit} AND ingest_time > {athena_timestamp(window.watermark)}), "
            f"json_format(CAST(slice(array_agg(raw ORDER BY t) FILTER (WHERE {hit}), 1, {MAX_SAMPLES}) AS JSON))"
        )
    return (
        f"SELECT {', '.join(columns)} FROM ("
        f"SELECT ingest_time, coalesce(event_time, ingest_time) AS t, raw, {flags} FROM {table} AS ev "
        f"WHERE \"date\" BETWEEN '{first.isoformat()}' AND '{last.isoformat()}' "
        f"AND ingest_time > {athena_timestamp(start)} AND ingest_time <= {athena_timestamp(end)}"
        f") WHERE {' OR '.join(f'f{i}' for i in range(len(scans)))}"
    )


def _raws(sampled: str | None) -> list[str]:
    """The JSON array of raw texts a single-scan column holds (NULL when the rule matched nothing)."""
    if not sampled:
        return []
    parsed = json.loads(sampled)
    return [item for item in parsed if isinstance(item, str)] if isinstance(parsed, list) else []


def correlation_query(database: str, scan: RuleScan) -> str:
    """Rows `group values..., peak count, new, samples` (a JSON array of raw texts) for the groups
    meeting the condition: the peak is the most matches within any `timespan` of event time."""
    rule, window = scan.rule, scan.window
    correlation = rule.correlation
    assert correlation is not None
    first, last = naive_utc(floor_ms(window.start)).date(), naive_utc(floor_ms(window.end)).date()
    table = f"{quote_ident(database)}.{quote_ident(rule.source)}"
    keys = ", ".join(f"g{i}" for i in range(len(correlation.athena_group_by)))
    groups = "".join(f", ({expr}) AS g{i}" for i, expr in enumerate(correlation.athena_group_by))
    over = (f"PARTITION BY {keys} " if keys else "") + (
        f"ORDER BY t RANGE BETWEEN INTERVAL '{int(correlation.timespan_seconds)}' SECOND PRECEDING AND CURRENT ROW"
    )
    return (
        f"WITH m AS (SELECT ingest_time, coalesce(event_time, ingest_time) AS t, raw{groups} FROM {table} AS ev "
        f"WHERE \"date\" BETWEEN '{first.isoformat()}' AND '{last.isoformat()}' "
        f"AND ingest_time > {athena_timestamp(window.start)} AND ingest_time <= {athena_timestamp(window.end)} "
        f"AND ({rule.athena_predicate})), "
        f"w AS (SELECT *, count(*) OVER ({over}) AS c FROM m) "
        f"SELECT {keys + ', ' if keys else ''}max(c), count_if(ingest_time > {athena_timestamp(window.watermark)}), "
        f"json_format(CAST(slice(array_agg(raw ORDER BY t), 1, {MAX_SAMPLES}) AS JSON)) "
        f"FROM w {'GROUP BY ' + keys + ' ' if keys else ''}"
        f"HAVING max(c) {SQL_OPERATORS[correlation.condition_op]} {int(correlation.condition_count)}"
    )


class AthenaEngine:
    def __init__(self, runner: AthenaRunner, lake: S3LogLake) -> None:
        """`runner` (the one Athena runner, shared in form with questions) carries the workgroup, the
        database and the polling; `lake` is where the rules' windows become visible."""
        self.lake = lake
        self.database = runner.database
        self.runner = runner
        self._memory = DuckDbEngine(lake)

    def visible_until(self) -> datetime:
        return self.lake.visible_until()

    def match_events(self, source: str, raws: Sequence[str], rule: CompiledRule) -> set[int]:
        return self._memory.match_events(source, raws, rule)

    def scan(self, source: str, rules: Sequence[RuleScan]) -> ScanOutcome:
        results: dict[int, list[GroupResult] | RuleFailure] = {}
        cost = {"DataScannedInBytes": 0, "EngineExecutionTimeInMillis": 0}

        def add(statistics: dict[str, Any]) -> None:
            for name in cost:
                cost[name] += int(statistics.get(name, 0) or 0)

        plain = [i for i, s in enumerate(rules) if s.rule.correlation is None]
        for i, scan in enumerate(rules):
            if scan.rule.correlation is not None:
                results[i] = self._correlation(scan, add)
        if plain:
            try:
                rows, statistics = self.run(single_scan_query(self.database, [rules[i] for i in plain]))
                add(statistics)
                row = rows[0] if rows else [None] * (3 * len(plain))
                for n, i in enumerate(plain):
                    count, new, sampled = row[3 * n : 3 * n + 3]
                    results[i] = [GroupResult(None, int(count or 0), int(new or 0), samples(_raws(sampled)))]
            except Exception:
                # One rule's SQL failing must not fail its neighbours: each alone, its failure its own.
                for i in plain:
                    results[i] = self._alone(rules[i], add)
        return ScanOutcome(
            results=[results[i] for i in range(len(rules))],
            duration_ms=float(cost["EngineExecutionTimeInMillis"]),
            data_scanned_mb=cost["DataScannedInBytes"] / 1_000_000,
        )

    def _alone(self, scan: RuleScan, add: Callable[[dict[str, Any]], None]) -> list[GroupResult] | RuleFailure:
        try:
            rows, statistics = self.run(plain_query(self.database, scan))
        except Exception as exc:  # anything one rule's query raises is that rule's failure
            return failure(exc)
        add(statistics)
        count = int(rows[0][1] or 0) if rows else 0
        new = int(rows[0][2] or 0) if rows else 0
        return [GroupResult(None, count, new, samples([row[0] for row in rows if row[0] is not None]))]

    def _correlation(self, scan: RuleScan, add: Callable[[dict[str, Any]], None]) -> list[GroupResult] | RuleFailure:
        correlation = scan.rule.correlation
        assert correlation is not None
        try:
            rows, statistics = self.run(correlation_query(self.database, scan))
        except Exception as exc:  # one correlation's failing query is its failure only
            return failure(exc)
        add(statistics)
        width = len(correlation.group_names)
        found = []
        for row in rows:
            group = dict(zip(correlation.group_names, row[:width], strict=True))
            peak, new, sampled = row[width : width + 3]
            found.append(GroupResult(group or None, int(peak or 0), int(new or 0), samples(_raws(sampled))))
        return found

    def run(self, sql: str) -> tuple[list[list[str | None]], dict[str, Any]]:
        """One query, every row read (`lake.athena_run`): its rows and Athena's statistics."""
        result = self.runner.run(sql)
        return result.rows, result.statistics
