"""The DuckDB detection engine over the local lake (see `lake.detect.duckdb_sql` for the SQL)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

from mantissa_log.domain.alerts import MAX_SAMPLES
from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.detect import duckdb_sql
from mantissa_log.lake.detect.model import GroupResult, RuleFailure, RuleScan, RuleWindow, ScanOutcome, failure
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


# Rules per plain scan: measured with 1,000 rules (benchmarks/bench_rules.py), one statement
# for all of them took minutes to plan and gigabytes of memory; 100 per scan stays fast.
PLAIN_SCAN_RULES = 100


def _identity(scan: RuleScan) -> tuple[str, RuleWindow]:
    """What decides a rule's answer: its query and its window (not its owner or name)."""
    rule = scan.rule
    if rule.correlation is None:
        return (rule.flag_expression, scan.window)
    return (duckdb_sql.correlation_scan("r", rule, scan), scan.window)


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
        # Many users run the same rule text over the same window (starter rules, shared rule
        # packs): each distinct (query, window) is evaluated once and its answer shared.
        distinct: dict[tuple[str, RuleWindow], int] = {}
        slot = [distinct.setdefault(_identity(scan), len(distinct)) for scan in rules]
        first: dict[int, int] = {}  # distinct query -> the first rule asking it
        for i, n in enumerate(slot):
            first.setdefault(n, i)
        unique = [rules[first[n]] for n in range(len(distinct))]
        found: dict[int, list[GroupResult] | RuleFailure] = {}
        plain = [i for i, s in enumerate(unique) if s.rule.correlation is None]
        with self.lake.connect() as con:
            # Several scans of at most PLAIN_SCAN_RULES rules each: one SQL statement with every
            # rule's flag grows past what DuckDB plans quickly (and its memory with it).
            for start in range(0, len(plain), PLAIN_SCAN_RULES):
                chunk = plain[start : start + PLAIN_SCAN_RULES]
                try:
                    batch = evaluate_plain(con, relation, [unique[i] for i in chunk])
                    found.update((i, [one]) for i, one in zip(chunk, batch, strict=True))
                except Exception:
                    # One rule's SQL failing must not fail its neighbours: evaluate each alone.
                    for i in chunk:
                        found[i] = self._alone(lambda c, s=unique[i]: evaluate_plain(c, relation, [s]), con)
            for i, scan in enumerate(unique):
                if scan.rule.correlation is not None:
                    found[i] = self._alone(lambda c, s=scan: evaluate_correlation(c, relation, s), con)
        # Each rule gets its own copy: a rule's results are its owner's to annotate.
        return [found[n] if first[n] == i else copy.deepcopy(found[n]) for i, n in enumerate(slot)]

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
