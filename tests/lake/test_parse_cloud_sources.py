"""The cloud sources of issue 13: every layout their producers write, malformed records with line and
reason, and the native ingest (DuckDB) storing and reporting what the Python parsers do."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake import Rejection, parse
from tests.lake.test_native import both_ways, write_lines
from tests.samples import compact, sample_path, sample_records

SIGNIN_ONLY = "category is not SignInLogs or NonInteractiveUserSignInLogs or ServicePrincipalSignInLogs or " + (
    "ManagedIdentitySignInLogs or ADFSSignInLogs"
)

# source -> (envelope key of the source's native batches, first record's (event time, event id))
CASES: dict[str, tuple[str | None, tuple[datetime | None, str | None]]] = {
    "azure_signin": (
        "records",
        (datetime(2026, 3, 2, 8, 1, 12, 441000, tzinfo=UTC), "5f1c0001-7a5e-4d1e-9c00-000000000001"),
    ),
    "azure_audit": (
        "records",
        (datetime(2026, 3, 3, 9, 0, tzinfo=UTC), "Directory_0001aaaa-6a6a-4b4b-8c8c-000000000001_ABC12_700001"),
    ),
    "azure_activity": ("records", (datetime(2026, 3, 4, 10, 0, tzinfo=UTC), None)),
    "azure_riskdetection": (
        "records",
        (
            datetime(2026, 3, 5, 11, 0, 0, 123000, tzinfo=UTC),
            "01e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4",
        ),
    ),
    "azure_pim": ("value", (None, "7d8e9f0a-4444-4b5c-8d6e-7f8091a2b3c4")),
    "m365": (None, (datetime(2026, 3, 6, 12, 0, 1, tzinfo=UTC), "4e5f0001-aaaa-4bbb-8ccc-000000000001")),
    "google_workspace": ("items", (datetime(2026, 3, 7, 13, 0, 0, 123000, tzinfo=UTC), None)),
    "kubernetes": ("items", (datetime(2026, 3, 8, 14, 0, 0, 100000, tzinfo=UTC), None)),
    "guardduty": (None, (datetime(2026, 3, 9, 15, 0, tzinfo=UTC), None)),
}

# source -> records that are not events of it, with the reason each is refused.
BAD: dict[str, list[tuple[Any, str]]] = {
    "azure_signin": [
        ({"category": "AuditLogs", "properties": {"id": "a"}}, SIGNIN_ONLY),
        ({"category": "SignInLogs", "properties": "flattened"}, "properties is a string, not a JSON object"),
        ({"time": "2026-03-02T08:00:00Z", "properties": {}}, "missing category"),
    ],
    "azure_audit": [
        ({"category": "SignInLogs", "properties": {}}, "category is not AuditLogs"),
        ({"category": "AuditLogs"}, "missing properties"),
    ],
    "azure_activity": [
        (
            {"category": "AuditEvent", "operationName": "VaultGet"},
            "category is not Administrative or Security or ServiceHealth or Alert or Recommendation or Policy or "
            "Autoscale or ResourceHealth or Write or Delete or Action",
        ),
        ({"category": "Administrative", "operationName": ""}, "operationName is empty, not a non-empty string"),
    ],
    "azure_riskdetection": [
        (
            {"category": "RiskyUsers", "properties": {"id": "u"}},
            "as a diagnostic-settings record: category is not UserRiskEvents or ServicePrincipalRiskEvents; "
            "as a Microsoft Graph riskDetection: missing riskEventType",
        ),
    ],
    "azure_pim": [
        ({"id": "DirectoryRole_t_StaleSignInAlert", "incidentCount": 1}, "missing @odata.type"),
    ],
    "m365": [
        ({"Operation": "UserLoggedIn", "RecordType": 15}, "missing Workload"),
        ({"Workload": "Exchange", "Operation": 5}, "Operation is a number, not a non-empty string"),
    ],
    "google_workspace": [
        ({"id": {"time": "2026-03-07T13:00:00Z"}, "events": {"name": "x"}}, "events is an object, not a JSON array"),
        ({"kind": "admin#reports#activity", "events": []}, "missing id"),
    ],
    "kubernetes": [
        ({"kind": "Event", "auditID": "a", "stage": "ResponseComplete"}, "missing verb"),
    ],
    "guardduty": [
        (
            {"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": {"eventName": "PutObject"}},
            "as a finding: missing schemaVersion; as an EventBridge event: source is not aws.guardduty",
        ),
    ],
}


@pytest.mark.parametrize("source", sorted(CASES))
def test_every_layout_gives_the_same_events(source: str) -> None:
    records = sample_records(source)
    envelope, (first_time, first_id) = CASES[source]
    layouts = {
        "json lines": "".join(compact(r) + "\n" for r in records).encode(),
        "array": json.dumps(records, indent=2).encode(),
        "sample file": sample_path(source).read_bytes(),
        "gzip": gzip.compress("".join(compact(r) + "\n" for r in records).encode()),
    }
    if envelope:
        batch = {envelope: records}
        layouts["batch"] = json.dumps(batch, indent=2).encode()
        layouts["batch lines"] = (
            compact({envelope: records[:1]}) + "\n" + compact({envelope: records[1:]}) + "\n"
        ).encode()
        layouts["batch gzip"] = gzip.compress(compact(batch).encode())
    for name, data in layouts.items():
        result = parse(source, data, filename=name)
        assert result.rejected == [], name
        assert [json.loads(event.raw) for event in result.events] == records, name
        assert (result.events[0].event_time, result.events[0].event_id) == (first_time, first_id), name


@pytest.mark.parametrize("source", sorted(CASES))
def test_malformed_records_are_counted_per_line_with_a_reason(source: str) -> None:
    good = sample_records(source)[:2]
    bad = BAD[source]
    lines = [compact(good[0]), *(compact(record) for record, _ in bad), "{not json", '"text"', compact(good[1])]
    result = parse(source, ("\n".join(lines) + "\n").encode())
    assert result.accepted == 2
    expected = [Rejection(2 + i, None, reason) for i, (_, reason) in enumerate(bad)]
    assert result.rejected[: len(bad)] == expected
    invalid, text = result.rejected[len(bad) :]
    assert (invalid.line, text.line) == (len(bad) + 2, len(bad) + 3)
    assert invalid.reason.startswith("invalid JSON")
    assert text.reason == "record is a string, not a JSON object"


@pytest.mark.parametrize("source", sorted(CASES))
def test_native_ingest_agrees_with_the_python_parser(tmp_path: Path, source: str) -> None:
    records = sample_records(source)
    envelope, _ = CASES[source]
    lines: list[str | bytes] = [compact(r) for r in records]
    lines += [compact(record) for record, _ in BAD[source]] + ["{not json", ""]
    if envelope:
        lines.append(compact({envelope: [records[0], BAD[source][0][0], 7, records[-1]]}))
    path = write_lines(tmp_path / f"{source}.jsonl", lines, compress=source in ("guardduty", "azure_signin"))
    native, _ = both_ways(tmp_path, source, path)
    assert native.native
    # The envelope repeats the first and last records: the same events, stored once.
    assert (native.rows, native.duplicates) == (len(records), 2 if envelope else 0)
    assert len(native.rejected) == len(BAD[source]) + 1 + (2 if envelope else 0)


def test_sources_with_two_shapes_keep_both() -> None:
    risk = sample_records("azure_riskdetection")
    assert {"properties" in record for record in risk} == {True, False}
    finding, event, _ = sample_records("guardduty")
    result = parse("guardduty", (compact(event) + compact(finding)).encode())  # Firehose: no delimiter
    assert [json.loads(e.raw) for e in result.events] == [event, finding]
    assert [e.event_time for e in result.events] == [
        datetime(2026, 3, 9, 15, 10, tzinfo=UTC),  # the finding's updatedAt, inside `detail`
        datetime(2026, 3, 9, 15, 0, tzinfo=UTC),
    ]


def test_dotted_time_fields_fall_back_in_both_ways(tmp_path: Path) -> None:
    # Blob captures sometimes write `time` in a US locale: the Graph resource's own time stands in.
    signin = dict(sample_records("azure_signin")[0], time="3/2/2026 8:01:12 AM")
    literal = dict(signin, **{"properties.id": None})  # a top-level key spelled like the path wins, as null
    path = write_lines(tmp_path / "odd.jsonl", [compact(signin), compact(literal)])
    native, _ = both_ways(tmp_path, "azure_signin", path)
    parsed = parse("azure_signin", path.read_bytes())
    assert [e.event_time for e in parsed.events] == [datetime(2026, 3, 2, 8, 1, 12, 441000, tzinfo=UTC)] * 2
    assert [e.event_id for e in parsed.events] == ["5f1c0001-7a5e-4d1e-9c00-000000000001", None]
    assert native.rows == 2


def test_every_new_source_is_a_known_source() -> None:
    assert set(CASES) <= set(SOURCES)
