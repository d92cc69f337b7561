"""Okta, GitHub, GCP audit and generic JSON parsing: shapes, time fields, ids, required keys."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

from mantissa_log.lake import Rejection, parse
from tests.lake.conftest import jsonl

OKTA: list[dict[str, Any]] = [
    {
        "uuid": "c3a1f2de-0000-11ee-8000-000000000001",
        "published": "2024-05-02T10:20:30.123Z",
        "eventType": "user.session.start",
        "actor": {"id": "00u1", "type": "User", "alternateId": "ann@example.com", "displayName": "Ann"},
        "outcome": {"result": "SUCCESS"},
        "target": [{"id": "0oa1", "type": "AppInstance", "displayName": "Admin Console"}],
        "securityContext": {"isProxy": False},
    },
    {
        "uuid": "c3a1f2de-0000-11ee-8000-000000000002",
        "published": "2024-05-02T10:21:00.000Z",
        "eventType": "policy.lifecycle.deactivate",
        "actor": {"id": "00u2", "type": "User"},
        "target": [],
    },
]


def test_okta_api_page_array_and_json_lines() -> None:
    for data in [json.dumps(OKTA, indent=2).encode(), jsonl(OKTA), gzip.compress(json.dumps(OKTA).encode())]:
        result = parse("okta", data)
        assert result.rejected == []
        assert [event.event_id for event in result.events] == [record["uuid"] for record in OKTA]
        assert result.events[0].event_time == datetime(2024, 5, 2, 10, 20, 30, 123000, tzinfo=UTC)
        assert json.loads(result.events[0].raw) == OKTA[0]


def test_okta_records_need_an_event_type() -> None:
    data = jsonl([OKTA[0], {"uuid": "x", "published": "2024-05-02T10:20:30Z"}, {"eventType": ""}, OKTA[1]])
    result = parse("okta", data)
    assert result.accepted == 2
    assert result.rejected == [
        Rejection(2, None, "missing eventType"),
        Rejection(3, None, "eventType is empty, not a non-empty string"),
    ]


def test_github_time_from_epoch_ms_or_created_at() -> None:
    records = [
        {
            "@timestamp": 1714645230123,
            "_document_id": "doc-1",
            "action": "repo.destroy",
            "actor": "ann",
            "created_at": 1,
        },
        {"created_at": "2024-05-02T10:20:30Z", "_document_id": "doc-2", "action": "org.add_member"},
        {"created_at": 1714645230000, "action": "git.clone", "public_repo": False},
        {"action": "team.add_member", "@timestamp": "not a time"},
    ]
    result = parse("github", jsonl(records))
    assert result.rejected == []
    assert [event.event_time for event in result.events] == [
        datetime(2024, 5, 2, 10, 20, 30, 123000, tzinfo=UTC),
        datetime(2024, 5, 2, 10, 20, 30, tzinfo=UTC),
        datetime(2024, 5, 2, 10, 20, 30, tzinfo=UTC),
        None,
    ]
    assert [event.event_id for event in result.events] == ["doc-1", "doc-2", None, None]


def test_github_records_need_an_action() -> None:
    result = parse("github", json.dumps([{"actor": "ann"}, {"action": "repo.create"}]).encode())
    assert result.accepted == 1
    assert result.rejected == [Rejection(1, 0, "missing action")]


GCP = {
    "insertId": "1abc",
    "logName": "projects/p/logs/cloudaudit.googleapis.com%2Factivity",
    "timestamp": "2024-05-02T10:20:30.123456789Z",
    "receiveTimestamp": "2024-05-02T10:20:31Z",
    "protoPayload": {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "serviceName": "iam.googleapis.com",
        "methodName": "google.iam.admin.v1.CreateServiceAccountKey",
        "authorizationInfo": [{"permission": "iam.serviceAccountKeys.create", "granted": True}],
    },
}


def test_gcp_audit_entries_with_nanosecond_timestamps() -> None:
    no_timestamp = {key: value for key, value in GCP.items() if key != "timestamp"}
    result = parse("gcp_audit", jsonl([GCP, no_timestamp, {"insertId": "2"}, {"protoPayload": "text"}]))
    assert result.accepted == 2
    assert result.events[0].event_time == datetime(2024, 5, 2, 10, 20, 30, 123456, tzinfo=UTC)
    assert result.events[1].event_time == datetime(2024, 5, 2, 10, 20, 31, tzinfo=UTC)  # receiveTimestamp
    assert result.events[0].event_id == "1abc"
    assert result.rejected == [
        Rejection(3, None, "missing protoPayload"),
        Rejection(4, None, "protoPayload is a string, not a JSON object"),
    ]


def test_generic_json_takes_the_first_time_field_present() -> None:
    records = [
        {"timestamp": "2024-05-02T10:20:30Z", "time": 0, "msg": "a"},
        {"time": 1714645230, "msg": "epoch seconds"},
        {"@timestamp": "1714645230123", "msg": "epoch ms as text"},
        {"eventTime": "2024-05-02 10:20:30", "msg": "naive means UTC"},
        {"published": "2024-05-02T12:20:30+02:00"},
        {"msg": "no time"},
        {"timestamp": None, "time": "2024-05-02T10:20:30Z"},
    ]
    result = parse("json", jsonl(records) + b"[1]\n")
    expected = datetime(2024, 5, 2, 10, 20, 30, tzinfo=UTC)
    assert [event.event_time for event in result.events] == [
        expected,
        expected,
        expected.replace(microsecond=123000),
        expected,
        expected,
        None,
        expected,
    ]
    assert all(event.event_id is None for event in result.events)
    assert result.rejected == [Rejection(8, 0, "record is a number, not a JSON object")]


def test_a_pretty_printed_stream_of_objects_reports_the_bad_one() -> None:
    text = (
        json.dumps({"msg": "one"}, indent=2)
        + "\n"
        + '{"msg": "two",\n  "x": }\n'
        + json.dumps({"msg": "three"}, indent=2)
    )
    result = parse("json", text.encode())
    assert [json.loads(event.raw)["msg"] for event in result.events] == ["one", "three"]
    (rejection,) = result.rejected
    assert (rejection.line, rejection.index) == (4, None)
    assert rejection.reason.startswith("invalid JSON: Expecting value (line 5")
