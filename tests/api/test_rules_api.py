"""Rules, ingest, sources and alerts over HTTP, as a user drives them."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from tests.fixtures_api import ApiUser
from tests.samples import sample_records

CORPUS_RULES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "rules"

RULE = """\
title: CloudTrail logging stopped
id: 7d0e5a4c-8a0b-4f5e-9a51-6a3c0f1d2e3f
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventSource: cloudtrail.amazonaws.com
    eventName: [StopLogging, DeleteTrail]
  condition: sel
level: critical
schedule: rate(5 minutes)
alert_destinations: [slack]
tests:
  - {name: stop, match: true, event: {eventSource: cloudtrail.amazonaws.com, eventName: StopLogging}}
  - {name: describe, match: false, event: {eventSource: cloudtrail.amazonaws.com, eventName: DescribeTrails}}
"""


def event(name: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": "2026-11-27T09:00:00Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "userIdentity": {"type": "IAMUser", "userName": "mallory"},
    }


def test_rule_lifecycle(api: TestClient, alice: ApiUser, bob: ApiUser, services: Services) -> None:
    h = alice.headers
    created = api.post("/api/v1/rules", headers=h, json={"rule_name": "trail-stop", "body": RULE, "threshold": 2})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["severity"], body["enabled"], body["threshold"], body["schedule"]) == (
        "critical",
        "true",
        2,
        "rate(5 minutes)",
    )
    # The seed's layout, with a version per write (a losing concurrent write only removes its own body).
    assert re.fullmatch(r"user_rules/alice/trail-stop\.\d{8}T\d{12}-[0-9a-f]{6}\.yaml", body["s3_key"])
    assert body["created_from"] == "api"
    assert services.infra.rule_bodies.get(body["s3_key"]).decode() == RULE
    assert api.get("/api/v1/rules/trail-stop", headers=h).json()["body"] == RULE
    assert [r["rule_name"] for r in api.get("/api/v1/rules?severity=critical", headers=h).json()["items"]] == [
        "trail-stop"
    ]
    assert api.get("/api/v1/rules?enabled=false", headers=h).json()["items"] == []
    assert api.post("/api/v1/rules/trail-stop/disable", headers=h).json()["enabled"] == "false"
    assert api.post("/api/v1/rules/trail-stop/enable", headers=h).json()["enabled"] == "true"
    replaced = api.put(
        "/api/v1/rules/trail-stop", headers=h, json={"body": RULE.replace("level: critical", "level: low")}
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["severity"] == "low"
    # The replaced body has a new key; the old body is gone, only the current one is kept.
    assert replaced.json()["s3_key"] != body["s3_key"]
    assert list(services.infra.rule_bodies.keys("user_rules/alice/")) == [replaced.json()["s3_key"]]
    # Bob sees none of it.
    for method, url in (
        ("GET", "/api/v1/rules/trail-stop"),
        ("DELETE", "/api/v1/rules/trail-stop"),
        ("POST", "/api/v1/rules/trail-stop/run"),
    ):
        assert api.request(method, url, headers=bob.headers).status_code == 404
    assert api.delete("/api/v1/rules/trail-stop", headers=h).status_code == 204
    assert api.get("/api/v1/rules/trail-stop", headers=h).status_code == 404
    assert list(services.infra.rule_bodies.keys("user_rules/alice/")) == []


def test_validate_returns_sql_or_errors_with_lines(api: TestClient, alice: ApiUser) -> None:
    ok = api.post("/api/v1/rules/validate", headers=alice.headers, json={"body": RULE})
    assert ok.status_code == 200, ok.text
    assert "stoplogging" in ok.json()["sql"]["duckdb"].lower()
    assert ok.json()["source"] == "cloudtrail"
    bad_cases = [
        (RULE.replace("schedule: rate(5 minutes)", "schedule: rate(5 minute)"), "schedule", 10),
        (RULE.replace("  condition: sel", "  condition: sel and nothere"), None, None),
        (RULE.replace("eventName: [StopLogging, DeleteTrail]", "eventName|re: '(?<=x)y'"), None, None),
        (
            RULE.replace("    eventSource: cloudtrail.amazonaws.com", "    eventSource: cloudtrail: amazonaws"),
            "body",
            6,
        ),
    ]
    for text, field, line in bad_cases:
        response = api.post("/api/v1/rules/validate", headers=alice.headers, json={"body": text})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["message"]
        if field:
            assert error["field"] == field
        if line:
            assert error["line"] == line
    created = api.post("/api/v1/rules", headers=alice.headers, json={"rule_name": "x", "body": bad_cases[0][0]})
    assert created.status_code == 422
    assert api.get("/api/v1/rules/x", headers=alice.headers).status_code == 404  # nothing partial


def test_ingest_sources_run_and_alerts(api: TestClient, alice: ApiUser, shipper: ApiUser, services: Services) -> None:
    h = alice.headers
    api.post("/api/v1/rules", headers=h, json={"rule_name": "trail-stop", "body": RULE})
    lines = [
        json.dumps(event("StopLogging")),
        "{broken json",
        json.dumps({"no": "eventName"}),
        json.dumps(event("DescribeTrails")),
    ]
    ingested = api.post("/api/v1/ingest/cloudtrail", headers=shipper.headers, content="\n".join(lines).encode())
    assert ingested.status_code == 200, ingested.text
    report = ingested.json()
    assert (report["accepted"], report["rejected"]) == (2, 2)
    assert {r["line"] for r in report["rejections"]} == {2, 3}
    delivery = gzip.compress(json.dumps({"Records": [event("DeleteTrail")]}).encode())
    assert api.post("/api/v1/ingest/cloudtrail", headers=shipper.headers, content=delivery).json()["accepted"] == 1
    assert (
        api.post("/api/v1/ingest/nosuch", headers=shipper.headers, content=b"{}").json()["error"]["field"] == "source"
    )
    sources = {s["name"]: s for s in api.get("/api/v1/sources", headers=h).json()["items"]}
    assert sources["cloudtrail"]["rows"] == 3
    assert {"raw", "event", "ingest_time"} <= {c["name"] for c in sources["cloudtrail"]["columns"]}

    run = api.post("/api/v1/rules/trail-stop/run", headers=h, json={"since": "2020-01-01T00:00:00Z"})
    assert run.status_code == 200, run.text
    result = run.json()
    assert (result["status"], result["matches"]) == ("success", 2)
    assert len(result["alerts_created"]) == 1
    alerts = api.get("/api/v1/alerts", headers=h).json()["items"]
    assert [a["alert_id"] for a in alerts] == result["alerts_created"]
    one = api.get(f"/api/v1/alerts/{alerts[0]['alert_id']}", headers=h).json()
    assert one["match_count"] == 2
    assert {s["eventName"] for s in one["samples"]} == {"StopLogging", "DeleteTrail"}
    assert one["delivery_status"] == "none"  # routed, but alice has no slack integration
    assert api.get("/api/v1/alerts?severity=low", headers=h).json()["items"] == []
    stats = api.get("/api/v1/rules/trail-stop", headers=h).json()
    assert (stats["executions"], stats["alert_count"], stats["last_execution_status"]) == (1, 1, "success")


def test_rule_tests_route(api: TestClient, alice: ApiUser) -> None:
    api.post("/api/v1/rules", headers=alice.headers, json={"rule_name": "trail-stop", "body": RULE})
    own = api.post("/api/v1/rules/trail-stop/test", headers=alice.headers).json()
    assert own["passed"] is True
    assert [r["name"] for r in own["results"]] == ["stop", "describe"]
    posted = api.post(
        "/api/v1/rules/trail-stop/test?include_stored=false",
        headers=alice.headers,
        json={"cases": [{"name": "wrong", "match": True, "event": event("DescribeTrails")}]},
    ).json()
    assert posted == {
        "passed": False,
        "results": [{"name": "wrong", "expected_match": True, "matched": False, "passed": False}],
    }


def test_a_sigmahq_azure_rule_over_an_event_hubs_capture(api: TestClient, alice: ApiUser, shipper: ApiUser) -> None:
    h = alice.headers
    body = (CORPUS_RULES / "azure_mfa_denies.yml").read_text(encoding="utf-8")
    created = api.post("/api/v1/rules", headers=h, json={"rule_name": "mfa-denied", "body": body})
    assert created.status_code in (200, 201), created.text
    records = sample_records("azure_signin")
    capture = gzip.compress(json.dumps({"records": [*records, {"category": "AuditLogs", "properties": {}}]}).encode())
    report = api.post("/api/v1/ingest/azure_signin", headers=shipper.headers, content=capture).json()
    assert (report["accepted"], report["rejected"]) == (len(records), 1)
    assert report["rejections"][0]["index"] == len(records)
    run = api.post("/api/v1/rules/mfa-denied/run", headers=h, json={"since": "2020-01-01T00:00:00Z"})
    assert run.status_code == 200, run.text
    assert run.json()["matches"] == 1
