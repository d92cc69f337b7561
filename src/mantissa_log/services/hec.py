"""The Splunk HTTP Event Collector protocol, as far as log shippers use it (Vector, Fluent Bit, OTel).

`/services/collector/event`: a body of concatenated JSON objects (whitespace or newlines between
them, or none), each `{"event": ..., "time": ..., "sourcetype": ..., "source": ..., "host": ...}`.
The `sourcetype` (the object's, else `?sourcetype=`) picks the lake source, hence the parser:
`aws:cloudtrail` -> cloudtrail, `okta:im2` -> okta, ... (SOURCETYPES). For a known source the
`event` object itself is stored (its own time and id are what detection and dedup read); anything
else goes to the `json` source with its whole envelope (host, source, time kept for searching).

`/services/collector/raw`: the body is the source's own payload (JSON lines, an array, a CloudTrail
file), its source chosen by `?sourcetype=`.

A request is checked whole before anything is stored: one malformed object refuses the request
with Splunk's code and `invalid-event-number`, so a shipper's retry never half-repeats a batch
(and a retry of a stored batch stores nothing twice: ingest is idempotent by event id).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from mantissa_log.lake import LogLake
from mantissa_log.services.detection.ingest import IngestReport, ingest_bytes

# Splunk sourcetypes (the Splunk Add-ons' names) -> lake sources.
SOURCETYPES: dict[str, str] = {
    "aws:cloudtrail": "cloudtrail",
    "aws:cloudwatchlogs:cloudtrail": "cloudtrail",
    "aws:cloudwatchlogs:vpcflow": "vpcflow",
    "aws:vpcflow": "vpcflow",
    "aws:cloudwatch:guardduty": "guardduty",
    "aws:guardduty": "guardduty",
    "okta:im2": "okta",
    "oktaim2:log": "okta",
    "github:audit": "github",
    "github:enterprise:audit": "github",
    "google:gcp:pubsub:audit:auth": "gcp_audit",
    "google:gcp:pubsub:message": "gcp_audit",
    "gws:reports:admin": "google_workspace",
    "gws:reports:login": "google_workspace",
    "gws:reports:token": "google_workspace",
    "gws:reports:drive": "google_workspace",
    "o365:management:activity": "m365",
    "azure:aad:signin": "azure_signin",
    "azure:aad:audit": "azure_audit",
    "mscs:azure:audit": "azure_activity",
    "azure:monitor:activity": "azure_activity",
    "azure:aad:identity_protection:risk_detection": "azure_riskdetection",
    "kube:apiserver:audit": "kubernetes",
    "k8s:audit": "kubernetes",
    "_json": "json",
    "json": "json",
}


def source_for(sourcetype: str | None) -> str:
    """The lake source for a sourcetype; our own source names are accepted too; anything else is `json`."""
    if not sourcetype:
        return "json"
    name = sourcetype.strip().lower()
    if name in SOURCETYPES:
        return SOURCETYPES[name]
    from mantissa_log.domain.log_sources import SOURCE_NAMES

    return name if name in SOURCE_NAMES else "json"


@dataclass(frozen=True)
class HecRefusal(Exception):
    """A request HEC refuses: HTTP status, Splunk's code and text, the 0-based event number if any."""

    status: int
    code: int
    text: str
    invalid_event: int | None = None

    def body(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"text": self.text, "code": self.code}
        if self.invalid_event is not None:
            answer["invalid-event-number"] = self.invalid_event
        return answer


NO_DATA = HecRefusal(400, 5, "No data")


@dataclass
class HecResult:
    events: int = 0
    reports: list[IngestReport] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.reports)

    @property
    def duplicates(self) -> int:
        return sum(r.duplicates for r in self.reports)

    @property
    def rejected(self) -> int:
        return sum(r.rejected for r in self.reports)


def decode_body(data: bytes, encoding: str | None, limit: int) -> bytes:
    """The body, gunzipped when `Content-Encoding: gzip`, never past `limit` bytes decompressed."""
    if not encoding or encoding.strip().lower() in ("identity", ""):
        return data
    if encoding.strip().lower() not in ("gzip", "x-gzip"):
        raise HecRefusal(415, 6, "Invalid data format: unsupported Content-Encoding")
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise HecRefusal(400, 6, "Invalid data format: the gzip body is corrupt") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise HecRefusal(413, 6, f"Invalid data format: over {limit} bytes once decompressed")
    return out


def split_events(text: str) -> list[dict[str, Any]]:
    """Concatenated JSON objects -> a list; HecRefusal naming the first bad one."""
    decoder = json.JSONDecoder()
    events: list[dict[str, Any]] = []
    position, end = 0, len(text)
    while True:
        while position < end and text[position] in " \t\r\n":
            position += 1
        if position >= end:
            break
        number = len(events)
        try:
            value, position = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):
            raise HecRefusal(400, 6, "Invalid data format", number) from None
        if not isinstance(value, dict):
            raise HecRefusal(400, 6, "Invalid data format", number)
        if "event" not in value:
            raise HecRefusal(400, 12, "Event field is required", number)
        if value["event"] is None or value["event"] == "" or value["event"] == {}:
            raise HecRefusal(400, 13, "Event field cannot be blank", number)
        events.append(value)
    if not events:
        raise NO_DATA
    return events


def _stored_form(envelope: dict[str, Any], source: str) -> str:
    """What the lake stores for one envelope: the event for a typed source, the envelope for `json`."""
    event = envelope["event"]
    if source == "json":
        return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
    if isinstance(event, str):
        try:
            event = json.loads(event)  # a shipper forwarding the original JSON line as text
        except (ValueError, RecursionError):
            return str(envelope["event"])  # a text record (a VPC flow log line); the source's parser judges it
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


class HecService:
    def __init__(self, lake: LogLake, decompressed_limit: int) -> None:
        self.lake = lake
        self.decompressed_limit = decompressed_limit

    def events(self, data: bytes, *, encoding: str | None, sourcetype: str | None) -> HecResult:
        text = decode_body(data, encoding, self.decompressed_limit)
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError:
            raise HecRefusal(400, 6, "Invalid data format: not UTF-8") from None
        envelopes = split_events(decoded)
        groups: dict[str, list[str]] = {}
        for envelope in envelopes:
            chosen = envelope.get("sourcetype") if isinstance(envelope.get("sourcetype"), str) else sourcetype
            source = source_for(chosen)
            groups.setdefault(source, []).append(_stored_form(envelope, source))
        result = HecResult(events=len(envelopes))
        for source, lines in groups.items():
            payload = ("\n".join(lines) + "\n").encode()
            result.reports.append(ingest_bytes(self.lake, source, payload, filename="hec"))
        return _nothing_read(result)

    def raw(self, data: bytes, *, encoding: str | None, sourcetype: str | None) -> HecResult:
        body = decode_body(data, encoding, self.decompressed_limit)
        if not body.strip():
            raise NO_DATA
        report = ingest_bytes(self.lake, source_for(sourcetype), body, filename="hec-raw")
        return _nothing_read(HecResult(events=report.accepted + report.duplicates + report.rejected, reports=[report]))


def _nothing_read(result: HecResult) -> HecResult:
    """Success, unless the source's parser could read none of the events (then the shipper should know)."""
    if result.rejected and not (result.accepted or result.duplicates):
        raise HecRefusal(400, 6, "Invalid data format: no event could be read by the sourcetype's parser")
    return result
