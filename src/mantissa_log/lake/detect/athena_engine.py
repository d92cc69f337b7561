"""`DetectionEngine` on Athena, over the S3 lake (`MANTISSA_LAKE=s3`).

Each plain rule is one query in the configured workgroup (whose bytes-scanned cutoff cancels a
runaway query): the rule's compiled Athena predicate over its window of ingest time, pruned to
the window's `date` partitions, answering the earliest sample events with the window's match
count and new-match count alongside (window functions), so one query gives a rule's whole result.
Queries are polled with exponential backoff and their results read page by page. What a scan
cost is Athena's own statistics (`DataScannedInBytes`, `EngineExecutionTimeInMillis`), summed
over the scan's queries. A failed, cancelled or timed-out query is that rule's failure only.

Correlation rules are not run on Athena yet: they fail with a message saying so.
Rule tests (`match_events`) run in memory with DuckDB, as everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mantissa_log.domain.alerts import MAX_SAMPLES
from mantissa_log.errors import StoreError
from mantissa_log.lake.detect.duckdb_engine import DuckDbEngine, samples
from mantissa_log.lake.detect.model import GroupResult, RuleFailure, RuleScan, ScanOutcome, failure
from mantissa_log.lake.s3lake import S3LogLake, floor_ms
from mantissa_log.lake.sql import naive_utc, quote_ident
from mantissa_log.sigma.compiled import CompiledRule

_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


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


class AthenaQueryFailed(StoreError):
    """A query Athena did not complete; the message is Athena's reason (no SQL)."""


class AthenaEngine:
    def __init__(
        self,
        athena: Any,
        lake: S3LogLake,
        database: str,
        workgroup: str,
        *,
        poll_first_seconds: float = 0.1,
        poll_max_seconds: float = 5.0,
        query_timeout_seconds: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.athena = athena
        self.lake = lake
        self.database = database
        self.workgroup = workgroup
        self.poll_first = poll_first_seconds
        self.poll_max = poll_max_seconds
        self.timeout = query_timeout_seconds
        self.sleep = sleep
        self._memory = DuckDbEngine(lake)

    def visible_until(self) -> datetime:
        return self.lake.visible_until()

    def match_events(self, source: str, raws: Sequence[str], rule: CompiledRule) -> set[int]:
        return self._memory.match_events(source, raws, rule)

    def scan(self, source: str, rules: Sequence[RuleScan]) -> ScanOutcome:
        results: list[list[GroupResult] | RuleFailure] = []
        scanned_bytes = engine_ms = 0
        for scan in rules:
            if scan.rule.correlation is not None:
                results.append(RuleFailure("correlation rules run on the local lake only, not on Athena yet"))
                continue
            try:
                rows, statistics = self.run(plain_query(self.database, scan))
            except Exception as exc:  # one rule's query failing never fails its neighbours
                results.append(failure(exc))
                continue
            scanned_bytes += int(statistics.get("DataScannedInBytes", 0))
            engine_ms += int(statistics.get("EngineExecutionTimeInMillis", 0))
            count = int(rows[0][1] or 0) if rows else 0
            new = int(rows[0][2] or 0) if rows else 0
            raws = [row[0] for row in rows if row[0] is not None]
            results.append([GroupResult(None, count, new, samples(raws))])
        return ScanOutcome(results=results, duration_ms=float(engine_ms), data_scanned_mb=scanned_bytes / 1_000_000)

    # -- one query: start, poll with backoff, read every page
    def run(self, sql: str) -> tuple[list[list[str | None]], dict[str, Any]]:
        try:
            started = self.athena.start_query_execution(
                QueryString=sql, QueryExecutionContext={"Database": self.database}, WorkGroup=self.workgroup
            )
            execution_id = started["QueryExecutionId"]
            execution = self._wait(execution_id)
            return self._rows(execution_id), execution.get("Statistics", {})
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"athena: {exc}") from None

    def _wait(self, execution_id: str) -> dict[str, Any]:
        delay, deadline = self.poll_first, time.monotonic() + self.timeout
        while True:
            execution: dict[str, Any] = self.athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            status = execution.get("Status", {})
            state = status.get("State")
            if state == "SUCCEEDED":
                return execution
            if state in _DONE:
                reason = str(status.get("StateChangeReason") or state)[:300]
                raise AthenaQueryFailed(f"athena query {state.lower()}: {reason}")
            if time.monotonic() > deadline:
                self.athena.stop_query_execution(QueryExecutionId=execution_id)
                raise AthenaQueryFailed(f"athena query timed out after {self.timeout:.0f} s (stopped)")
            self.sleep(delay)
            delay = min(delay * 2, self.poll_max)

    def _rows(self, execution_id: str) -> list[list[str | None]]:
        rows: list[list[str | None]] = []
        token: str | None = None
        header = True
        while True:
            request: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": 1000}
            if token:
                request["NextToken"] = token
            page = self.athena.get_query_results(**request)
            for row in page.get("ResultSet", {}).get("Rows", []):
                values = [cell.get("VarCharValue") for cell in row.get("Data", [])]
                if header:  # a SELECT's first row holds the column names
                    header = False
                    continue
                rows.append(values)
            token = page.get("NextToken")
            if not token:
                return rows
