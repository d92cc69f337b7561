"""What the parsers produce and the store takes (plain data, no I/O); what the store reports back is
in `lake.results`, kept apart so that a hunt, which only reads, does not build those classes.

These records are named tuples and a slotted class rather than dataclasses: `mantissa-log hunt`
imports this module, and `dataclasses` costs a process ~12 ms for `inspect`, plus ~1 ms per class
built (a small hunt takes ~0.12 s in all; see `cli.main`).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class ParsedEvent(NamedTuple):
    """One accepted event.

    `raw` is the event object as compact JSON (`,` and `:` separators, the event's own key order,
    non-ASCII kept as is). The store feeds it to DuckDB's JSON reader, so it must be valid JSON
    of an object on one line: the parsers guarantee that; other producers must too.
    """

    raw: str
    event_time: datetime | None = None  # aware, UTC
    event_id: str | None = None  # None: the store uses sha256(raw)


class Rejection:
    """A record that was not accepted, and why (a value: compared by its fields, immutable).

    `line` is the 1-based line of the (decompressed) input where the record starts; `index` is the
    0-based position of the record inside a JSON array or a `{"Records": [...]}` envelope. (Not a
    named tuple: a field named `index` would hide the tuple's own method.)
    """

    __slots__ = ("index", "line", "reason")
    line: int | None
    index: int | None
    reason: str

    def __init__(self, line: int | None, index: int | None, reason: str) -> None:
        object.__setattr__(self, "line", line)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "reason", reason)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Rejection is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Rejection is immutable: cannot delete {name}")

    def _fields(self) -> tuple[int | None, int | None, str]:
        return (self.line, self.index, self.reason)

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if isinstance(other, Rejection) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> tuple[type[Rejection], tuple[int | None, int | None, str]]:
        return (Rejection, self._fields())  # pickle and copy through __init__, not attribute by attribute

    def __repr__(self) -> str:
        return f"Rejection(line={self.line!r}, index={self.index!r}, reason={self.reason!r})"


# A payload of a million bad lines keeps the first reasons and counts the rest.
MAX_KEPT_REJECTIONS = 1_000


class IngestLimits(NamedTuple):
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


class ParseResult:
    """What a parser read from one input: its events and its rejections (filled in as it reads)."""

    __slots__ = ("events", "filename", "rejected", "rejected_total", "repaired", "source")

    def __init__(self, source: str, *, filename: str = "") -> None:
        self.source = source
        self.filename = filename
        self.events: list[ParsedEvent] = []
        # The first MAX_KEPT_REJECTIONS rejections, in input order; `rejected_total` counts them all.
        self.rejected: list[Rejection] = []
        self.rejected_total = 0
        # Events kept after replacing lone UTF-16 surrogates (invalid Unicode DuckDB cannot read) by U+FFFD.
        self.repaired = 0

    def __repr__(self) -> str:
        return (
            f"ParseResult(source={self.source!r}, filename={self.filename!r}, events={len(self.events)}, "
            f"rejected_total={self.rejected_total}, repaired={self.repaired})"
        )

    @property
    def accepted(self) -> int:
        return len(self.events)

    def reject(self, line: int | None, index: int | None, reason: str, *, always: bool = False) -> None:
        """Count a rejection; keep it if fewer than the cap are kept, or `always` (why reading stopped)."""
        self.rejected_total += 1
        if always or len(self.rejected) < MAX_KEPT_REJECTIONS:
            self.rejected.append(Rejection(line, index, reason))
