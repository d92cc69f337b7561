"""Amazon GuardDuty findings: the S3 export (JSON lines, gzipped), EventBridge events
(`"detail-type": "GuardDuty Finding"`, the finding under `detail`, as delivered to SQS, Firehose or
Lambda; concatenated objects too), JSON arrays.

A record is a finding (`schemaVersion`, `type` and `id` are strings) or an EventBridge event from
`aws.guardduty` with a `detail` object; both are kept as they come. Time: the finding's
`updatedAt`, else the event's `time`. No id field: a finding keeps its `id` across updates.
"""

from __future__ import annotations

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult
from mantissa_log.lake.parsers.checks import AnyOf, Require
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser

FINDING = Require(strings=("schemaVersion", "type", "id"), what="a finding")
EVENT = Require(
    objects=("detail",),
    values=(("source", ("aws.guardduty",)), ("detail-type", ("GuardDuty Finding",))),
    what="an EventBridge event",
)
PARSER = JsonSourceParser("guardduty", AnyOf((FINDING, EVENT)))


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    return PARSER.parse(data, filename=filename, limits=limits)
