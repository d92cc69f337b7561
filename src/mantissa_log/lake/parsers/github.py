"""GitHub audit log: JSON lines (streaming / export) or the REST API's JSON array.

A record must be an object with `action`. Time: `@timestamp` (epoch ms) else `created_at`
(ISO 8601 or epoch ms); id: `_document_id`.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser, require_strings

PARSER = JsonSourceParser("github", require_strings("action"))


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
