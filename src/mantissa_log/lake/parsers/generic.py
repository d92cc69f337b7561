"""Any JSON objects (source `json`): JSON lines or a JSON array; every object is accepted.

Time: the first of `SOURCES["json"].time_fields` holding ISO 8601 text or an epoch number
(seconds, ms, µs or ns, told apart by magnitude). No id field: the store hashes the raw event.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser

PARSER = JsonSourceParser("json")


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
