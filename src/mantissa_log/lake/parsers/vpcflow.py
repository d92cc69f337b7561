"""VPC Flow Logs as delivered to S3 or exported: space-separated text, gzipped or not.

The first line may be a header naming the fields (`version account-id ...`, or a custom format
such as `vpc-id ... tcp-flags pkt-srcaddr`, optionally as `${field}`); without one the v2 default
format is assumed. Each row becomes an object keyed by field name with string values and `-` as
null; a row with the wrong number of fields is rejected with its line number. A later line equal
to the header (concatenated files) is skipped. Time: `start` (epoch seconds). No id field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mantissa_log.domain.log_sources import SOURCES, VPCFLOW_V2_FIELDS
from mantissa_log.lake.fields import canonical_json, epoch_time
from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParsedEvent, ParseResult
from mantissa_log.lake.parsers.jsonsource import event_size, event_too_large
from mantissa_log.lake.reader import decode, iter_lines, open_input

# Field names AWS documents for flow log formats v2 to v8 (to tell a header from a data row).
KNOWN_FIELDS = frozenset(
    (
        *VPCFLOW_V2_FIELDS,
        "vpc-id", "subnet-id", "instance-id", "tcp-flags", "type", "pkt-srcaddr", "pkt-dstaddr",
        "region", "az-id", "sublocation-type", "sublocation-id", "pkt-src-aws-service",
        "pkt-dst-aws-service", "flow-direction", "traffic-path", "ecs-cluster-arn", "ecs-cluster-name",
        "ecs-container-instance-arn", "ecs-container-instance-id", "ecs-container-id",
        "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn", "ecs-task-arn",
        "ecs-task-id", "reject-reason", "resource-id", "encryption-status",
    )
)  # fmt: skip
_NAME = re.compile(r"\$\{([a-z][a-z0-9-]*)\}|([a-z][a-z0-9-]*)")


def header_fields(tokens: list[str]) -> tuple[str, ...] | None:
    """The field names if `tokens` is a header line, else None.

    A header has only lowercase field-name tokens, no repeats, and at least one documented name;
    data rows always hold numbers or upper-case values (`ACCEPT`, `OK`) somewhere.
    """
    names = []
    for token in tokens:
        match = _NAME.fullmatch(token)
        if not match:
            return None
        names.append(match.group(1) or match.group(2))
    if len(set(names)) != len(names) or not KNOWN_FIELDS.intersection(names):
        return None
    return tuple(names)


def parse(data: bytes, *, filename: str = "", limits: IngestLimits = DEFAULT_LIMITS) -> ParseResult:
    result = ParseResult("vpcflow", filename=filename)
    result.events = list(stream(data, result, limits))
    return result


def stream(data: bytes, result: ParseResult, limits: IngestLimits = DEFAULT_LIMITS) -> Iterator[ParsedEvent]:
    """The accepted events as they are read; rejections and repairs go to `result`."""
    fields: tuple[str, ...] = VPCFLOW_V2_FIELDS
    header: list[str] | None = None
    time_field = SOURCES["vpcflow"].time_fields[0]
    seen_row = False
    for number, line in iter_lines(open_input(data, limits), result, limits):
        tokens = decode(line).lstrip("\ufeff").split()
        if not tokens or tokens == header:
            continue
        if not seen_row and header is None:
            named = header_fields(tokens)
            if named is not None:
                fields, header = named, tokens
                continue
        seen_row = True
        if len(tokens) != len(fields):
            result.reject(number, None, f"expected {len(fields)} fields, got {len(tokens)}")
            continue
        record = {name: (None if value == "-" else value) for name, value in zip(fields, tokens, strict=True)}
        raw, repaired = canonical_json(record)
        size = event_size(raw, limits.event_bytes)
        if size is not None:
            result.reject(number, None, event_too_large(size, limits))
            continue
        result.repaired += repaired
        start = record.get(time_field)
        event_time = epoch_time(int(start)) if start is not None and start.isdigit() else None
        yield ParsedEvent(raw, event_time)
