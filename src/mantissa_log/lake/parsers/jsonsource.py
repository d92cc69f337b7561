"""What every JSON log source shares: read values, check each record, keep the good ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.fields import canonical_json, first_id, first_time
from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParsedEvent, ParseResult
from mantissa_log.lake.parsers.checks import AnyOf, Require, require_strings
from mantissa_log.lake.reader import NOT_JSON, iter_values, parse_line, spread, type_name

# Returns why a record is not an event of this source, or None when it is. The declarative checks
# are named (mypy does not see a named tuple's `__call__` as making it a Callable).
Check = Require | AnyOf | Callable[[dict[str, Any]], str | None]


def event_size(raw: str, cap: int) -> int | None:
    """The event's size in bytes when it is over `cap`, else None (cheap for the usual small event)."""
    if len(raw) <= cap // 4:
        return None  # at most 4 bytes per character
    size = len(raw.encode("utf-8", "surrogatepass"))
    return size if size > cap else None


def event_too_large(size: int, limits: IngestLimits) -> str:
    return f"event is {size} bytes, over the {limits.event_bytes}-byte limit (MANTISSA_MAX_EVENT_BYTES)"


class JsonSourceParser(NamedTuple):
    source: str
    check: Check | None = None
    # Key of a list of records that wraps events, e.g. CloudTrail's S3 delivery `{"Records": [...]}`.
    envelope: str | None = None

    def parse(self, data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
        result = ParseResult(self.source, filename=filename)
        result.events = list(self.stream(data, result, limits))
        return result

    def stream(self, data: bytes, result: ParseResult, limits: IngestLimits = DEFAULT_LIMITS) -> Iterator[ParsedEvent]:
        """The accepted events, as they are read; rejections and repairs go to `result` meanwhile.

        Nothing but the current value is held, so the lake can store events in chunks while the
        rest of the input is still being read.
        """
        for value, line, index in iter_values(data, result, limits):
            self.accept_value(result, value, line, index, limits)
            if result.events:
                yield from result.events
                result.events.clear()

    def parse_lines(
        self, lines: Iterable[tuple[int, str]], *, first_line: int = 1, limits: IngestLimits = DEFAULT_LIMITS
    ) -> tuple[ParseResult, list[tuple[int, int]]]:
        """Lines of a JSON-lines input (1-based number, text without the newline), read as `parse` reads them.

        `first_line` is the number of the input's first non-blank line: up to it, a leading byte order
        mark is ignored. For inputs already known to be JSON lines (the native ingest hands over the
        lines DuckDB cannot vouch for); `parse` decides that from the first line itself. Returns the
        result and, per accepted event, its (line, position among the line's accepted events).
        """
        result = ParseResult(self.source)
        keys: list[tuple[int, int]] = []
        for number, line in lines:
            text = line.strip()
            if number <= first_line:
                text = text.lstrip("\ufeff")
            if not text:
                continue
            before = len(result.events)
            for value, at, index in spread(parse_line(text, number, result), number):
                self.accept_value(result, value, at, index, limits)
            keys.extend((number, position) for position in range(len(result.events) - before))
        return result, keys

    def parse_records(
        self, records: Iterable[tuple[int, int, str]], *, limits: IngestLimits = DEFAULT_LIMITS
    ) -> tuple[ParseResult, list[tuple[int, int]]]:
        """Elements of envelopes: (line, index in the envelope, JSON text), checked as `parse` checks them.

        Returns the result and, per accepted event, its (line, index).
        """
        result = ParseResult(self.source)
        keys: list[tuple[int, int]] = []
        for line, index, text in records:
            value = parse_line(text, line, result)
            if value is NOT_JSON:
                continue
            before = len(result.events)
            self._accept(result, value, line, index, limits)
            if len(result.events) > before:
                keys.append((line, index))
        return result, keys

    def accept_value(
        self, result: ParseResult, value: Any, line: int, index: int | None, limits: IngestLimits = DEFAULT_LIMITS
    ) -> None:
        """One top-level value (or array element): an envelope of records, or one record."""
        if self.envelope and index is None and self._is_envelope(value):
            for position, record in enumerate(value[self.envelope]):
                self._accept(result, record, line, position, limits)
        else:
            self._accept(result, value, line, index, limits)

    def _is_envelope(self, value: Any) -> bool:
        # A list under the envelope key, on an object that is not itself a valid event.
        if not isinstance(value, dict) or not isinstance(value.get(self.envelope), list):
            return False
        return self.check is None or self.check(value) is not None

    def _accept(self, result: ParseResult, record: Any, line: int, index: int | None, limits: IngestLimits) -> None:
        if not isinstance(record, dict):
            result.reject(line, index, f"record is {type_name(record)}, not a JSON object")
            return
        reason = self.check(record) if self.check else None
        if reason:
            result.reject(line, index, reason)
            return
        try:
            raw, repaired = canonical_json(record)
        except ValueError:  # Python reads NaN, Infinity and 1e400; JSON (and DuckDB) does not
            result.reject(line, index, "not storable as JSON: NaN, Infinity or a number beyond the double range")
            return
        size = event_size(raw, limits.event_bytes)
        if size is not None:
            result.reject(line, index, event_too_large(size, limits))
            return
        spec = SOURCES[self.source]
        try:
            time = first_time(record, spec.time_fields)
        except (OverflowError, ValueError):  # an epoch number (or digit string) far too long to be a time
            time = None
        result.repaired += repaired
        result.events.append(ParsedEvent(raw, time, first_id(record, spec.id_fields)))


__all__ = ["AnyOf", "Check", "JsonSourceParser", "Require", "require_strings"]
