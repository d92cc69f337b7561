"""What the parsers produce and the store takes (plain data, no I/O); what the store reports back is
in `lake.results`, kept apart so that a hunt, which only reads, does not build those classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
