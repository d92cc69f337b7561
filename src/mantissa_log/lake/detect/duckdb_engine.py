"""The DuckDB detection engine over the local lake (see `lake.detect.duckdb_sql` for the SQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from mantissa_log.domain.alerts import MAX_SAMPLES
from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.detect import duckdb_sql
from mantissa_log.lake.detect.model import GroupResult, RuleFailure, RuleScan, ScanOutcome, failure
from mantissa_log.lake.store import LogLake
from mantissa_log.sigma.compiled import CompiledRule


def samples(raws: Sequence[str] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for raw in (raws or [])[:MAX_SAMPLES]:
        try:
            value = json.loads(raw)
        except ValueError:
            value = {"raw": raw}
        out.append(value if isinstance(value, dict) else {"value": value})
    return out


def evaluate_plain(con: duckdb.DuckDBPyConnection, relation: str, scans: Sequence[RuleScan]) -> list[GroupResult]:
    """One scan for every non-correlation rule; results in the order of `scans`."""
    if not scans:
        return []
    row = con.execute(duckdb_sql.plain_scan(relation, scans)).fetchone()
    assert row is not None
    width = duckdb_sql.PLAIN_COLUMNS
    results = []
    for i in range(len(scans)):
        count, new, raws = row[i * width : (i + 1) * width]
        results.append(GroupResult(None, int(count or 0), int(new or 0), samples(raws)))
    return results


def evaluate_correlation(con: duckdb.DuckDBPyConnection, relation: str, scan: RuleScan) -> list[GroupResult]:
    """Per group: the peak count within any `timespan` of event time; groups meeting the condition."""
    correlation = scan.rule.correlation
    assert correlation is not None
    width = len(correlation.group_by)
    results = []
    for row in con.execute(duckdb_sql.correlation_scan(relation, scan.rule, scan)).fetchall():
        values = row[:width]
        peak, new, raws = row[width:]
        group = {name: (None if v is None else str(v)) for name, v in zip(correlation.group_names, values, strict=True)}
        results.append(GroupResult(group or None, int(peak), int(new or 0), samples(raws)))
    return results


class DuckDbEngine:
    """`DetectionEngine` over a `LogLake`: every rule of a source in one scan of its window's files."""

    def __init__(self, lake: LogLake) -> None:
        self.lake = lake

    def visible_until(self) -> datetime:
        return self.lake.visible_until()

    def scan(self, source: str, rules: Sequence[RuleScan]) -> ScanOutcome:
        started = time.perf_counter()
        earliest = min(s.window.start for s in rules)
        until = max(s.window.end for s in rules)
        results = self._evaluate(source, rules, earliest, until)
        failed = any(isinstance(found, RuleFailure) for found in results)
        # A file nobody can read must not stop every rule of the source: move it aside, go on.
        if failed and self.lake.quarantine_unreadable(source, earliest, until):
            results = self._evaluate(source, rules, earliest, until)
        return ScanOutcome(
            results=results,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            data_scanned_mb=round(self.lake.data_scanned_mb(source, earliest, until), 6),
        )

    def _evaluate(
        self, source: str, rules: Sequence[RuleScan], earliest: datetime, until: datetime
    ) -> list[list[GroupResult] | RuleFailure]:
        try:
            relation = f"({self.lake.relation_sql(source, earliest, until)})"
        except Exception as exc:  # listing the window's files failed: every rule of the source fails alike
            return [failure(exc)] * len(rules)
        results: dict[int, list[GroupResult] | RuleFailure] = {}
        plain = [i for i, s in enumerate(rules) if s.rule.correlation is None]
        with self.lake.connect() as con:
            try:
                batch = evaluate_plain(con, relation, [rules[i] for i in plain])
                results.update((i, [found]) for i, found in zip(plain, batch, strict=True))
            except Exception:
                # One rule's SQL failing must not fail its neighbours: evaluate each alone.
                for i in plain:
                    results[i] = self._alone(lambda c, s=rules[i]: evaluate_plain(c, relation, [s]), con)
            for i, scan in enumerate(rules):
                if scan.rule.correlation is not None:
                    results[i] = self._alone(lambda c, s=scan: evaluate_correlation(c, relation, s), con)
        return [results[i] for i in range(len(rules))]

    @staticmethod
    def _alone(evaluate: Any, con: duckdb.DuckDBPyConnection) -> list[GroupResult] | RuleFailure:
        try:
            found: list[GroupResult] = evaluate(con)
        except Exception as exc:  # anything one rule raises is that rule's failure
            return failure(exc)
        return found

    def match_events(self, source: str, raws: Sequence[str], rule: CompiledRule) -> set[int]:
        with duckdb.connect(":memory:") as con:
            table = load_memory_table(con, "rule_test", SOURCES[source].structure_json(), raws)
            return {int(r[0]) for r in con.execute(duckdb_sql.matching_positions(table, rule)).fetchall()}


def load_memory_table(con: duckdb.DuckDBPyConnection, name: str, structure_json: str, raws: Sequence[str]) -> str:
    """An in-memory relation shaped like the lake's (raw, event, times), for rule tests and hunts."""
    fill, derive = duckdb_sql.memory_table(name, structure_json)
    con.execute(fill, [list(raws)])
    con.execute(derive)
    return name


def match_events(con: duckdb.DuckDBPyConnection, table: str, rule: CompiledRule) -> list[int]:
    """Positions of the events in `table` that satisfy the rule's detection, ascending."""
    return [int(r[0]) for r in con.execute(duckdb_sql.matching_positions(table, rule)).fetchall()]
