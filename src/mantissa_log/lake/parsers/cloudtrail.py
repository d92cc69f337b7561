"""CloudTrail: S3 delivery files `{"Records": [...]}` (gzipped or not), JSON lines, JSON arrays.

A record must be an object with `eventName` and `eventSource` (this also rejects CloudTrail
digest files, which are objects of another kind). Time: `eventTime`; id: `eventID`.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser, require_strings

PARSER = JsonSourceParser("cloudtrail", require_strings("eventName", "eventSource"), envelope="Records")


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
