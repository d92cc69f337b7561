"""Values passed between the parsers, the store and its callers (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ParsedEvent:
    """One accepted event.

    `raw` is the event object as compact JSON (`,` and `:` separators, the event's own key order,
    non-ASCII kept as is). The store feeds it to DuckDB's JSON reader, so it must be valid JSON
    of an object on one line: the parsers guarantee that; other producers must too.
    """

    raw: str
    event_time: datetime | None = None  # aware, UTC
    event_id: str | None = None  # None: the store uses sha256(raw)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that was not accepted, and why.

    `line` is the 1-based line of the (decompressed) input where the record starts; `index` is the
    0-based position of the record inside a JSON array or a `{"Records": [...]}` envelope.
    """

    line: int | None
    index: int | None
    reason: str


# A payload of a million bad lines keeps the first reasons and counts the rest.
MAX_KEPT_REJECTIONS = 1_000


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """What one upload or file may make the reader hold (MANTISSA_MAX_* settings).

    `decompressed_bytes`: a gzip stream is read until it has produced this much, then the rest is
    refused (a 1 MB bomb cannot become gigabytes). `line_bytes`: a longer line is refused and
    skipped without being held (a JSON document that is not JSON lines is read whole, so it is held
    to this too). `event_bytes`: one stored event's JSON; larger ones are refused by line, the rest
    of the input is kept.
    """

    decompressed_bytes: int = 256 << 20
    line_bytes: int = 8 << 20
    event_bytes: int = 1 << 20


DEFAULT_LIMITS = IngestLimits()


@dataclass(slots=True)
class ParseResult:
    source: str
    events: list[ParsedEvent] = field(default_factory=list)
    # The first MAX_KEPT_REJECTIONS rejections, in input order; `rejected_total` counts them all.
    rejected: list[Rejection] = field(default_factory=list)
    # Events kept after replacing lone UTF-16 surrogates (invalid Unicode DuckDB cannot read) by U+FFFD.
    repaired: int = 0
    filename: str = ""
    rejected_total: int = 0

    @property
    def accepted(self) -> int:
        return len(self.events)

    def reject(self, line: int | None, index: int | None, reason: str, *, always: bool = False) -> None:
        """Count a rejection; keep it if fewer than the cap are kept, or `always` (why reading stopped)."""
        self.rejected_total += 1
        if always or len(self.rejected) < MAX_KEPT_REJECTIONS:
            self.rejected.append(Rejection(line, index, reason))


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
