"""Google Workspace Admin SDK Reports API activities: `activities.list` pages
(`{"kind": "admin#reports#activities", "items": [...]}`), JSON lines of activities, JSON arrays, gzip.

An activity must be an object whose `id` is an object and whose `events` is an array. Time:
`id.time`. No id field (an activity is identified by time, uniqueQualifier, application and
customer together): the store hashes the raw event.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.checks import Require
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser

PARSER = JsonSourceParser("google_workspace", Require(objects=("id",), lists=("events",)), envelope="items")


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
