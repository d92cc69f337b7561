"""The event lake: parsers per log source, Parquet partitions by ingest hour, DuckDB access.

Public surface: `parse(source, data)` / `PARSERS`, `LogLake` (ingest, relation_sql, connect,
connect_guarded, sources, data_scanned_mb, visible_until), `ensure_select`, and the value types.
"""

from __future__ import annotations

from mantissa_log.lake.guard import ensure_select
from mantissa_log.lake.model import (
    ColumnInfo,
    IngestLimits,
    IngestResult,
    ParsedEvent,
    ParseResult,
    Rejection,
    SourceInfo,
)
from mantissa_log.lake.parsers import PARSERS, parse
from mantissa_log.lake.store import LogLake

__all__ = [
    "PARSERS",
    "ColumnInfo",
    "IngestLimits",
    "IngestResult",
    "LogLake",
    "ParseResult",
    "ParsedEvent",
    "Rejection",
    "SourceInfo",
    "ensure_select",
    "parse",
]
