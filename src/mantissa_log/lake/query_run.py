"""Running a guarded query (`lake.query_guard`) on a locked-down connection, within limits.

The connection has views only for the log tables the query reads (the event's top-level keys as
columns too, so `eventName` works as well as `event.eventName`), no file access beyond their
files, a memory limit with nothing spilled to disk, and a thread count; a timer on another thread
interrupts the query at its time limit. Rows come back as JSON-ready values, cut at the row limit
(one row more is fetched to know that there were more), at a total size, and long texts are
shortened. What the query cost is the size of the files of the tables it reads.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from mantissa_log.errors import ValidationFailed
from mantissa_log.lake.guard import ensure_select
from mantissa_log.lake.query_guard import CheckedQuery
from mantissa_log.lake.results import ColumnInfo
from mantissa_log.lake.store import LogLake

_PATH = re.compile(r"'?(?:/[^\s'\"]+){2,}'?")
_MESSAGE_LIMIT = 400


@dataclass(frozen=True)
class QueryLimits:
    max_rows: int = 1000
    timeout_seconds: float = 10.0
    memory_limit_mb: int = 512
    threads: int = 2
    max_cell_chars: int = 10_000
    max_result_bytes: int = 5_000_000


@dataclass
class QueryResult:
    columns: list[ColumnInfo]
    rows: list[list[Any]]
    truncated: bool  # more rows (or more bytes) than the limits let through
    data_scanned_bytes: int
    duration_ms: float
    tables: list[str] = field(default_factory=list)


class QueryFailed(Exception):
    """DuckDB could not run a checked query, or a limit stopped it. `code`: query_failed,
    query_timeout or query_memory; `message` fit for the user and the model (no file paths)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def run_checked(lake: LogLake, checked: CheckedQuery, limits: QueryLimits) -> QueryResult:
    """Run a query `check_query` accepted; raise QueryFailed when DuckDB fails or a limit stops it."""
    tables = sorted(checked.tables)
    scanned = sum(path.stat().st_size for name in tables for path in lake.files(name))
    started = time.perf_counter()
    with lake.connect_guarded(
        sources=tables, memory_limit_mb=limits.memory_limit_mb, threads=limits.threads, top_level_fields=True
    ) as connection:
        try:
            ensure_select(connection, checked.executed)  # DuckDB's statement type, a third opinion
        except ValidationFailed as exc:
            raise QueryFailed("query_refused", exc.message) from None
        timer = threading.Timer(limits.timeout_seconds, connection.interrupt)
        timer.daemon = True
        timer.start()
        try:
            cursor = connection.execute(checked.executed)
            description = cursor.description or []
            fetched = cursor.fetchmany(checked.fetch)
        except duckdb.InterruptException:
            raise QueryFailed(
                "query_timeout",
                f"the query was stopped after {limits.timeout_seconds:g} s (MANTISSA_QUERY_TIMEOUT_SECONDS); "
                "narrow the time range or aggregate",
            ) from None
        except duckdb.OutOfMemoryException:
            raise QueryFailed(
                "query_memory",
                f"the query needed more than {limits.memory_limit_mb} MB (MANTISSA_QUERY_MEMORY_MB); "
                "narrow the time range, select fewer columns or aggregate",
            ) from None
        except duckdb.Error as exc:
            raise QueryFailed("query_failed", message_of(exc)) from None
        finally:
            timer.cancel()
    columns = [ColumnInfo(str(item[0]), str(item[1])) for item in description]
    rows, cut = json_rows(fetched, limits)
    return QueryResult(
        columns=columns,
        rows=rows,
        truncated=cut or len(fetched) > limits.max_rows,
        data_scanned_bytes=scanned,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        tables=tables,
    )


def json_rows(fetched: Sequence[Sequence[Any]], limits: QueryLimits) -> tuple[list[list[Any]], bool]:
    """Up to max_rows rows as JSON values, cut at max_result_bytes; True when the size cut them."""
    rows: list[list[Any]] = []
    size = 0
    for raw in fetched[: limits.max_rows]:
        row = [json_value(value, limits.max_cell_chars) for value in raw]
        size += len(json.dumps(row, default=str))
        if size > limits.max_result_bytes and rows:
            return rows, True
        rows.append(row)
    return rows, False


def json_value(value: Any, max_chars: int) -> Any:
    """A DuckDB value as JSON: times as ISO 8601 (UTC `Z` for timestamps), lists and structs nested."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value if len(value) <= max_chars else value[:max_chars] + "…"
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        aware = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return aware.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)[:max_chars]).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [json_value(item, max_chars) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item, max_chars) for key, item in value.items()}
    return str(value)[:max_chars]


def message_of(exc: BaseException) -> str:
    """The error's first line for the user and the model, without file paths."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return _PATH.sub("<file>", first)[:_MESSAGE_LIMIT]
