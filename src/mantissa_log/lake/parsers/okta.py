"""Okta System Log: the API's JSON array pages or JSON lines exports.

A record must be an object with `eventType`. Time: `published`; id: `uuid`.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser, require_strings

PARSER = JsonSourceParser("okta", require_strings("eventType"))


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
