"""The router's view: one sender per integration type and each integration's own filter."""

from __future__ import annotations

import pytest

from mantissa_log.domain.common import INTEGRATION_TYPES
from mantissa_log.outputs import jira, slack
from mantissa_log.outputs.registry import OUTPUTS, max_attempts, passes_filter
from tests.outputs.helpers import ARN, make_alert, make_ctx, make_integration


def test_every_integration_type_has_a_sender() -> None:
    assert set(OUTPUTS) == set(INTEGRATION_TYPES)
    assert OUTPUTS["slack"] is slack.send
    assert OUTPUTS["jira"] is jira.send
    assert max_attempts(make_integration("webhook", {"url": "https://x.example/", "retry_count": 0})) == 1


@pytest.mark.parametrize(
    ("kind", "config", "passing", "failing"),
    [
        ("slack", {"severity_filter": ["critical", "low"]}, ["critical", "low"], ["high", "medium", "info"]),
        (
            "email",
            {"recipients": ["a@b.example"], "from_address": "m@b.example", "severity_filter": ["high"]},
            ["high"],
            ["critical", "low"],
        ),
        ("pagerduty", {"severity_threshold": "high"}, ["critical", "high"], ["medium", "low", "info"]),
        ("pagerduty", {"severity_threshold": "info"}, ["info", "critical"], []),
        ("jira", {"jira_url": "https://j.example", "project_key": "SEC"}, ["info", "critical"], []),
        ("webhook", {"url": "https://x.example/"}, ["info", "critical"], []),
    ],
)
def test_passes_filter(kind: str, config: dict[str, object], passing: list[str], failing: list[str]) -> None:
    integration = make_integration(kind, config)
    assert all(passes_filter(make_alert(severity=s), integration) for s in passing)
    assert not any(passes_filter(make_alert(severity=s), integration) for s in failing)


def test_a_sender_refuses_another_type() -> None:
    other = make_integration("pagerduty", {"service_key": ARN + "pd"}, secret="pd")
    result = OUTPUTS["slack"](make_alert(), other, make_ctx())
    assert not result.ok
    assert not result.retryable
    assert "pagerduty" in result.message
