"""GCP Cloud Audit Logs: LogEntry objects as JSON lines (sink exports) or a JSON array.

A record must be an object whose `protoPayload` is an object. Time: `timestamp` else
`receiveTimestamp` (RFC 3339, nanoseconds truncated to microseconds); id: `insertId`.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser, Require

PARSER = JsonSourceParser("gcp_audit", Require(objects=("protoPayload",)))


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
