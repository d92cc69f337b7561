"""What the store reports to its callers: an ingest's outcome, a source's columns and extent (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mantissa_log.lake.model import Rejection


@dataclass(frozen=True, slots=True)
class IngestResult:
    source: str
    ingest_time: datetime  # aware, UTC; the same for every row of the call
    rows: int
    files: tuple[Path, ...]
    bytes_written: int
    seconds: float
    rejected: tuple[Rejection, ...] = ()  # carried over from the ParseResult, if one was given
    rejected_total: int | None = None  # all rejections, when more were counted than kept
    repaired: int = 0  # events kept after replacing invalid Unicode by U+FFFD (see ParseResult)
    native: bool = False  # read by DuckDB (`LogLake.ingest_file` on JSON lines), not by a Python parser
    duplicates: int = 0  # events already stored within the dedup horizon (or twice in this input): not stored


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class SourceInfo:
    name: str
    columns: tuple[ColumnInfo, ...]
    rows: int
    files: int
    bytes: int
    min_event_time: datetime | None = None  # aware, UTC
    max_event_time: datetime | None = None
    min_ingest_time: datetime | None = None
    max_ingest_time: datetime | None = None
    quarantined: int = 0  # unreadable files moved aside (`lake/_quarantine`)
