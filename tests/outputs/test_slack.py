"""Slack incoming webhook: exact Block Kit body, mentions, filter, limits, secret hygiene."""

from __future__ import annotations

from typing import Any

from mantissa_log.domain.integrations.slack import SlackConfig
from mantissa_log.outputs.slack import build_payload
from tests.outputs.helpers import ARN, Receiver, Reply, make_alert, make_ctx, make_integration, send

CONFIG: dict[str, Any] = {
    "channel": "siem-alerts",
    "webhook_url_secret": ARN + "slack",
    "severity_filter": ["critical", "high", "medium"],
    "mention_on_critical": True,
    "mention_user": "<@U123ABC>",
}
LINK = "https://mantissa.example/alerts/20261127T100000000000Z-abc123"


def _setup(receiver: Receiver, **config: Any) -> tuple[Any, Any]:
    hook = receiver.url + "/services/T000/B000/XXXXsecretXXXX"
    integration = make_integration("slack", CONFIG | config, secret="slack")
    return integration, make_ctx({ARN + "slack": hook})


def test_critical_test_alert_exact_body(receiver: Receiver) -> None:
    integration, ctx = _setup(receiver)
    ctx.test = True
    alert = make_alert(severity="critical")
    result = send(alert, integration, ctx)
    assert result.ok, result
    assert not result.skipped
    (req,) = receiver.requests
    assert (req.method, req.path) == ("POST", "/services/T000/B000/XXXXsecretXXXX")
    assert req.headers["content-type"] == "application/json; charset=utf-8"
    head = "[TEST] [CRITICAL] Root console login"
    window = "2026-11-27T09:55:00Z → 2026-11-27T10:00:00Z"
    assert req.json() == {
        "text": f"<@U123ABC> {head}: 4 matching events from cloudtrail ({window})",
        "channel": "siem-alerts",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": head, "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "<@U123ABC> critical alert"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": "*Severity*\ncritical"},
                    {"type": "mrkdwn", "text": "*Rule*\nRoot console login (root_login)"},
                    {"type": "mrkdwn", "text": f"*Window*\n{window}"},
                    {"type": "mrkdwn", "text": "*Matches*\n4"},
                    {"type": "mrkdwn", "text": "*Source*\ncloudtrail"},
                    {"type": "mrkdwn", "text": "*Group*\nuser=alice"},
                ],
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Sample 1*\n• eventName: ConsoleLogin\n• eventSource: signin.amazonaws.com\n"
                    "• userIdentity.arn: arn:aws:iam::123456789012:root\n• sourceIPAddress: 203.0.113.7\n"
                    "• awsRegion: us-east-1",
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{LINK}|View alert in Mantissa Log>"}},
        ],
    }


def test_no_mention_below_critical_and_at_name_sets_link_names() -> None:
    config = SlackConfig.model_validate(CONFIG | {"mention_user": "@oncall"})
    high = build_payload(make_alert(), config, make_ctx())
    assert "@oncall" not in high["text"]
    assert "link_names" not in high
    crit = build_payload(make_alert(severity="critical"), config, make_ctx())
    assert crit["text"].startswith("@oncall ")
    assert crit["link_names"] is True


def test_severity_filter_skips_without_sending(receiver: Receiver) -> None:
    integration, ctx = _setup(receiver)
    result = send(make_alert(severity="low"), integration, ctx)
    assert result.ok
    assert result.skipped
    assert "low" in result.message
    assert receiver.requests == []


def test_log_values_cannot_inject_mentions_and_limits_hold() -> None:
    sample = {"eventName": "<!channel> & <https://evil|click>", "sourceIPAddress": "x" * 5000}
    alert = make_alert(rule_title="T" * 400, samples=[sample] * 5, group={"user": "<!here>"})
    payload = build_payload(alert, SlackConfig.model_validate(CONFIG), make_ctx())
    text = str(payload)
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "<https://evil" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in text
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) == 150
    assert header.endswith("…")
    samples = [b for b in payload["blocks"] if b.get("text", {}).get("text", "").startswith("*Sample")]
    assert len(samples) == 3
    for block in payload["blocks"]:
        if "fields" in block:
            assert len(block["fields"]) <= 10
            assert all(len(f["text"]) <= 2000 for f in block["fields"])
        elif block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


def test_generic_samples_show_first_scalar_keys() -> None:
    sample = {"a": 1, "nested": {"x": 1}, "b": "two", "c": None, "d": True, "e": 5, "f": 6, "g": 7}
    payload = build_payload(make_alert(source="okta", samples=[sample]), SlackConfig.model_validate(CONFIG), make_ctx())
    sample_text = payload["blocks"][2]["text"]["text"]
    assert sample_text == "*Sample 1*\n• a: 1\n• b: two\n• d: true\n• e: 5\n• f: 6"


def test_failures_never_show_the_webhook_url(receiver: Receiver) -> None:
    integration, ctx = _setup(receiver)
    receiver.script = [Reply(404, "no_service"), Reply(500, "XXXXsecretXXXX echoed")]
    first = send(make_alert(), integration, ctx)
    second = send(make_alert(), integration, ctx)
    assert (first.retryable, first.status_code, second.retryable) == (False, 404, True)
    for result in (first, second):
        assert "XXXXsecretXXXX" not in result.message
        assert "/services" not in result.message


def test_missing_secret_is_a_permanent_failure() -> None:
    integration = make_integration("slack", CONFIG | {"webhook_url_secret": None})
    result = send(make_alert(), integration, make_ctx())
    assert not result.ok
    assert not result.retryable
    assert "webhook URL" in result.message
