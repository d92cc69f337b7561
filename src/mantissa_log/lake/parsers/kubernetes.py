"""Kubernetes audit events (`audit.k8s.io/v1` `Event`): the log backend's JSON lines, the webhook
backend's `EventList` (`{"kind": "EventList", "items": [...]}`), JSON arrays, gzip.

An event must be an object with `auditID`, `verb` and `stage`. Time: `requestReceivedTimestamp`,
else `stageTimestamp`. No id field (`auditID` repeats across the stages of one request).
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.checks import require_strings
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser

PARSER = JsonSourceParser("kubernetes", require_strings("auditID", "verb", "stage"), envelope="items")


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
