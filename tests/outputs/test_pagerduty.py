"""PagerDuty Events API v2: exact trigger body, shared dedup key, severity mapping, threshold skip."""

from __future__ import annotations

from typing import Any

import pytest

from mantissa_log.domain.integrations.pagerduty import PagerDutyConfig
from mantissa_log.outputs.base import OutputContext
from mantissa_log.outputs.pagerduty import build_payload, dedup_key_for
from tests.outputs.helpers import ARN, Receiver, Reply, make_alert, make_ctx, make_integration, send

KEY = "pd-routing-key-value"
LINK = "https://mantissa.example/alerts/20261127T100000000000Z-abc123"
ACCEPTED = Reply(202, {"status": "success", "message": "Event processed", "dedup_key": "x"})


def _setup(receiver: Receiver, **config: Any) -> tuple[Any, OutputContext]:
    base = {"service_key": ARN + "pd", "severity_threshold": "medium", "dedup_key_prefix": "mantissa-log"}
    ctx = make_ctx(pagerduty_events_url=receiver.url + "/v2/enqueue")
    return make_integration("pagerduty", base | config, secret="pd"), ctx


def test_trigger_exact_body(receiver: Receiver) -> None:
    integration, ctx = _setup(receiver)
    alert = make_alert()
    receiver.default = Reply(202, {"status": "success", "dedup_key": f"mantissa-log-{alert.dedup_key}"})
    result = send(alert, integration, ctx)
    assert (result.ok, result.status_code, result.reference) == (True, 202, f"mantissa-log-{alert.dedup_key}")
    (req,) = receiver.requests
    assert (req.method, req.path, req.headers["content-type"]) == ("POST", "/v2/enqueue", "application/json")
    assert req.json() == {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": f"mantissa-log-{alert.dedup_key}",
        "payload": {
            "summary": "[HIGH] Root console login: 4 matching events from cloudtrail (user=alice)",
            "source": "cloudtrail",
            "severity": "error",
            "timestamp": "2026-11-27T10:00:00Z",
            "component": "cloudtrail",
            "group": "root_login",
            "class": "mantissa-log-detection",
            "custom_details": {
                "rule_name": "root_login",
                "rule_title": "Root console login",
                "window": {"start": "2026-11-27T09:55:00Z", "end": "2026-11-27T10:00:00Z"},
                "match_count": 4,
                "occurrences": 1,
                "group": {"user": "alice"},
                "samples": alert.samples,
                "alert_id": alert.alert_id,
                "link": LINK,
                "test": False,
            },
        },
        "links": [{"href": LINK, "text": "View alert in Mantissa Log"}],
        "client": "Mantissa Log",
        "client_url": LINK,
    }


def test_repeats_share_the_dedup_key(receiver: Receiver) -> None:
    integration, ctx = _setup(receiver)
    receiver.default = ACCEPTED
    send(make_alert(), integration, ctx)
    send(make_alert(occurrences=3, match_count=9, last_seen="2026-11-27T10:05:00Z"), integration, ctx)
    keys = {r.json()["dedup_key"] for r in receiver.requests}
    assert keys == {f"mantissa-log-{make_alert().dedup_key}"}


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("critical", "critical"), ("high", "error"), ("medium", "warning"), ("low", "info"), ("info", "info")],
)
def test_severity_mapping(severity: str, expected: str) -> None:
    config = PagerDutyConfig(severity_threshold="info")
    assert build_payload(make_alert(severity=severity), config, make_ctx(), KEY)["payload"]["severity"] == expected


def test_threshold_skips_lower_severities(receiver: Receiver) -> None:
    integration, ctx = _setup(receiver, severity_threshold="high")
    low = send(make_alert(severity="medium"), integration, ctx)
    assert low.ok
    assert low.skipped
    assert "severity_threshold high" in low.message
    receiver.default = ACCEPTED
    assert not send(make_alert(severity="critical"), integration, ctx).skipped
    assert len(receiver.requests) == 1


def test_empty_prefix_and_length_limits() -> None:
    alert = make_alert(rule_title="y" * 2000)
    assert dedup_key_for(alert, PagerDutyConfig(dedup_key_prefix="")) == alert.dedup_key
    long_prefix = PagerDutyConfig(dedup_key_prefix="p" * 100)
    assert dedup_key_for(alert, long_prefix) == "p" * 100 + "-" + alert.dedup_key
    summary = build_payload(alert, long_prefix, make_ctx(test=True), KEY)["payload"]["summary"]
    assert len(summary) == 1024
    assert summary.startswith("[TEST] [HIGH] ")


def test_fault_mapping_and_key_hygiene(receiver: Receiver) -> None:
    integration, ctx = _setup(receiver)
    receiver.script = [
        Reply(400, {"status": "invalid event", "errors": [f"bad routing key {KEY}"]}),
        Reply(429, "", {"Retry-After": "12"}),
        Reply(502, "bad gateway"),
    ]
    bad, throttled, down = (send(make_alert(), integration, ctx) for _ in range(3))
    assert (bad.retryable, bad.status_code) == (False, 400)
    assert (throttled.retryable, throttled.retry_after) == (True, 12.0)
    assert down.retryable
    assert all(KEY not in r.message for r in (bad, throttled, down))
