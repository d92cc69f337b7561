"""GCP Cloud Audit Logs: LogEntry objects as JSON lines (sink exports) or a JSON array.

A record must be an object whose `protoPayload` is an object. Time: `timestamp` else
`receiveTimestamp` (RFC 3339, nanoseconds truncated to microseconds); id: `insertId`.
"""

from __future__ import annotations

from typing import Any

from mantissa_log.lake.model import ParseResult
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser
from mantissa_log.lake.reader import type_name


def _check(record: dict[str, Any]) -> str | None:
    payload = record.get("protoPayload")
    if payload is None:
        return "missing protoPayload"
    if not isinstance(payload, dict):
        return f"protoPayload is {type_name(payload)}, not a JSON object"
    return None


PARSER = JsonSourceParser("gcp_audit", _check)


def parse(data: bytes, *, filename: str = "") -> ParseResult:
    return PARSER.parse(data, filename=filename)
