"""Microsoft 365 Management Activity API: content blobs (a JSON array of audit records, as
`GET /activity/feed/audit/{contentId}` returns them), JSON lines, gzip.

A record must be an object with `Operation` and `Workload` (the common schema's mandatory names of
what happened and where). Time: `CreationTime` (UTC without an offset); id: `Id`.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.checks import require_strings
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser

PARSER = JsonSourceParser("m365", require_strings("Operation", "Workload"))


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
