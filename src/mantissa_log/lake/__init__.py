"""The event lake: parsers per log source, Parquet partitions by ingest hour, DuckDB access.

Public surface: `parse(source, data)` / `PARSERS`, `LogLake` (ingest, relation_sql, connect,
connect_guarded, sources, data_scanned_mb, visible_until), `ensure_select`, and the value types.
Names are resolved on first use, so that importing one part (a hunt needs only the readers and
DuckDB) does not import every other.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as the type checker sees them; at run time __getattr__ imports them
    from mantissa_log.lake.guard import ensure_select
    from mantissa_log.lake.model import IngestLimits, ParsedEvent, ParseResult, Rejection
    from mantissa_log.lake.parsers import PARSERS, parse
    from mantissa_log.lake.results import ColumnInfo, IngestResult, SourceInfo
    from mantissa_log.lake.store import LogLake

_HOMES = {
    "ensure_select": "mantissa_log.lake.guard",
    "ColumnInfo": "mantissa_log.lake.results",
    "IngestLimits": "mantissa_log.lake.model",
    "IngestResult": "mantissa_log.lake.results",
    "ParsedEvent": "mantissa_log.lake.model",
    "ParseResult": "mantissa_log.lake.model",
    "Rejection": "mantissa_log.lake.model",
    "SourceInfo": "mantissa_log.lake.results",
    "PARSERS": "mantissa_log.lake.parsers",
    "parse": "mantissa_log.lake.parsers",
    "LogLake": "mantissa_log.lake.store",
}
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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(home), name)
