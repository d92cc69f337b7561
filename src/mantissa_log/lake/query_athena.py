"""Questions on Athena over the S3 lake (`MANTISSA_LAKE=s3`): the guarded SQL, run in the workgroup.

The query the guard accepted (`check_query(..., dialect="athena")`, the row limit already in its
text) is started in the configured workgroup and database (`lake.athena_run`: polled with backoff,
stopped at the query time limit), and at most the guard's `fetch` rows are read, page by page.
Athena returns every value as text: numbers, booleans and timestamps are read back by the column
types it reports, so an answer looks the same as on DuckDB. What it cost is Athena's own
`DataScannedInBytes`. A failure is a `QueryFailed` with Athena's reason, never the SQL.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from mantissa_log.errors import StoreError
from mantissa_log.lake.athena_run import AthenaQueryTimedOut, AthenaRunner
from mantissa_log.lake.query_guard import CheckedQuery
from mantissa_log.lake.query_run import QueryFailed, QueryLimits, QueryResult, json_rows, message_of
from mantissa_log.lake.query_schema import TableSchema, athena_tables
from mantissa_log.lake.results import ColumnInfo
from mantissa_log.lake.s3lake import S3LogLake

_INTEGERS = frozenset({"tinyint", "smallint", "integer", "int", "bigint"})
_FLOATS = frozenset({"real", "float", "double", "decimal"})


def athena_value(text: str | None, kind: str) -> Any:
    """A value Athena returned as text, as the Python value its column type means (else the text)."""
    if text is None:
        return None
    base = kind.lower().split("(", 1)[0].strip()
    try:
        if base in _INTEGERS:
            return int(text)
        if base in _FLOATS:
            return float(text)
        if base == "boolean":
            return text.lower() == "true"
        if base == "timestamp":  # naive wall time in UTC: "2026-11-27 10:00:00.123"
            return datetime.fromisoformat(text)
    except ValueError:
        return text
    return text


class AthenaQueries:
    """`QueryBackend` on Athena: the Glue tables' schema, and guarded queries in the workgroup."""

    dialect = "athena"

    def __init__(self, runner: AthenaRunner, lake: S3LogLake) -> None:
        self.runner = runner
        self.lake = lake

    def fingerprint(self) -> str:
        return "athena:" + ",".join(sorted(self.lake.sources_with_data()))

    def describe(self, examples: int) -> list[TableSchema]:
        del examples  # example values would cost a billed query per table
        return athena_tables(self.lake.sources_with_data())

    def run(self, checked: CheckedQuery, limits: QueryLimits) -> QueryResult:
        started = time.perf_counter()
        try:
            result = self.runner.run(checked.executed, max_rows=checked.fetch, timeout_seconds=limits.timeout_seconds)
        except AthenaQueryTimedOut:
            raise QueryFailed(
                "query_timeout",
                f"the query was stopped after {limits.timeout_seconds:g} s (MANTISSA_QUERY_TIMEOUT_SECONDS); "
                'bound the "date" partition, narrow the time range or aggregate',
            ) from None
        except StoreError as exc:
            message = message_of(exc)
            if "bytes scanned limit" in message.lower():
                message = (
                    "the query would scan more than the Athena workgroup allows (its bytes-scanned cutoff); "
                    'bound the "date" partition to the days asked about'
                )
            raise QueryFailed("query_failed", message) from None
        kinds = [kind for _, kind in result.columns]
        values = [
            [athena_value(text, kinds[i] if i < len(kinds) else "varchar") for i, text in enumerate(row)]
            for row in result.rows
        ]
        rows, cut = json_rows(values, limits)
        return QueryResult(
            columns=[ColumnInfo(name, kind.upper()) for name, kind in result.columns],
            rows=rows,
            truncated=cut or len(values) > limits.max_rows,
            data_scanned_bytes=int(result.statistics.get("DataScannedInBytes", 0) or 0),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            tables=sorted(checked.tables),
        )
