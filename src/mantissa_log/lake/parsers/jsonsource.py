"""What every JSON log source shares: read values, check each record, keep the good ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.fields import canonical_json, first_id, first_time
from mantissa_log.lake.model import ParsedEvent, ParseResult
from mantissa_log.lake.reader import iter_values, type_name

# Returns why a record is not an event of this source, or None when it is.
Check = Callable[[dict[str, Any]], str | None]


def require_strings(*keys: str) -> Check:
    """A check that each key is present with a non-empty string value."""

    def check(record: dict[str, Any]) -> str | None:
        for key in keys:
            value = record.get(key)
            if value is None:
                return f"missing {key}"
            if not isinstance(value, str) or not value:
                return f"{key} is {type_name(value) if value != '' else 'empty'}, not a non-empty string"
        return None

    return check


@dataclass(frozen=True)
class JsonSourceParser:
    source: str
    check: Check | None = None
    # Key of a list of records that wraps events, e.g. CloudTrail's S3 delivery `{"Records": [...]}`.
    envelope: str | None = None

    def parse(self, data: bytes, *, filename: str = "") -> ParseResult:
        spec = SOURCES[self.source]
        result = ParseResult(self.source, filename=filename)
        for value, line, index in iter_values(data, result):
            if self.envelope and index is None and self._is_envelope(value):
                for position, record in enumerate(value[self.envelope]):
                    self._accept(result, record, line, position, spec.time_fields, spec.id_fields)
            else:
                self._accept(result, value, line, index, spec.time_fields, spec.id_fields)
        return result

    def _is_envelope(self, value: Any) -> bool:
        # A list under the envelope key, on an object that is not itself a valid event.
        if not isinstance(value, dict) or not isinstance(value.get(self.envelope), list):
            return False
        return self.check is None or self.check(value) is not None

    def _accept(
        self,
        result: ParseResult,
        record: Any,
        line: int,
        index: int | None,
        time_fields: tuple[str, ...],
        id_fields: tuple[str, ...],
    ) -> None:
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
        result.repaired += repaired
        result.events.append(ParsedEvent(raw, first_time(record, time_fields), first_id(record, id_fields)))
