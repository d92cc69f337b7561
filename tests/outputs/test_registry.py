"""The one output registry: a sender per integration type, registration checks, the shared opening."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from mantissa_log.domain.common import INTEGRATION_TYPES
from mantissa_log.domain.integrations import INTEGRATION_SPECS
from mantissa_log.domain.integrations.slack import SPEC as SLACK_SPEC
from mantissa_log.errors import ConfigError
from mantissa_log.outputs import jira, slack
from mantissa_log.outputs.base import DeliveryResult, OutputSpec
from mantissa_log.outputs.registry import BUILTIN_OUTPUTS, OutputRegistry, build_output_registry, deliver
from tests.outputs.helpers import ARN, make_alert, make_ctx, make_integration


def test_every_integration_type_has_a_sender() -> None:
    outputs = build_output_registry()
    assert set(outputs.names()) == set(INTEGRATION_TYPES)
    assert outputs.output("slack").send is slack.send
    assert outputs.output("jira").send is jira.send
    webhook = make_integration("webhook", {"url": "https://x.example/", "retry_count": 0})
    assert outputs.output("webhook").integration.immediate_tries(webhook.config) == 1


def test_each_build_is_a_fresh_registry() -> None:
    first, second = build_output_registry(), build_output_registry()
    assert first is not second
    second.check_complete()  # a test registering into one cannot leak into the other


def test_register_refuses_duplicates_unknown_types_and_foreign_specs() -> None:
    outputs = OutputRegistry()
    outputs.register(slack.OUTPUT)
    with pytest.raises(ConfigError, match="'slack' already has an output"):
        outputs.register(slack.OUTPUT)
    copied = dataclasses.replace(SLACK_SPEC, secret_label="something else")
    with pytest.raises(ConfigError, match="not built on the domain's slack spec"):
        OutputRegistry().register(OutputSpec(copied, slack.send, slack.body))
    renamed = dataclasses.replace(SLACK_SPEC, name="teams")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown integration type 'teams'"):
        OutputRegistry().register(OutputSpec(renamed, slack.send, slack.body))


def test_a_registry_missing_a_type_is_refused() -> None:
    outputs = OutputRegistry()
    for output in BUILTIN_OUTPUTS:
        if output.name != "email":
            outputs.register(output)
    with pytest.raises(ConfigError, match="no output for integration type\\(s\\) email"):
        outputs.check_complete()


def test_domain_specs_are_one_per_type() -> None:
    with pytest.raises(ConfigError, match="'slack' is described twice"):
        OutputRegistry([*INTEGRATION_SPECS, SLACK_SPEC])
    with pytest.raises(ConfigError, match="no spec for integration type\\(s\\) webhook"):
        OutputRegistry([s for s in INTEGRATION_SPECS if s.name != "webhook"])


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
    outputs = build_output_registry()
    integration = make_integration(kind, config)
    assert all(outputs.passes_filter(make_alert(severity=s), integration) for s in passing)
    assert not any(outputs.passes_filter(make_alert(severity=s), integration) for s in failing)


def test_a_sender_refuses_another_type() -> None:
    other = make_integration("pagerduty", {"service_key": ARN + "pd"}, secret="pd")
    result = deliver(build_output_registry().output("slack"), make_alert(), other, make_ctx())
    assert not result.ok
    assert not result.retryable
    assert "pagerduty" in result.message


def test_payload_builder_gives_the_exact_body() -> None:
    outputs = build_output_registry()
    integration = make_integration("slack", {"channel": "soc"}, secret="slack")
    body = outputs.build_payload(make_alert(), integration, make_ctx())
    assert json.loads(body) == slack.build_payload(make_alert(), integration.config, make_ctx())  # type: ignore[arg-type]
    pd = make_integration("pagerduty", {}, secret="pd")
    assert json.loads(outputs.build_payload(make_alert(), pd, make_ctx(), secret="rk-1"))["routing_key"] == "rk-1"


def _leaky(alert: Any, target: Any, ctx: Any) -> DeliveryResult:
    return DeliveryResult(ok=False, retryable=True, message=f"receiver said: bad token {target.secret}")


def _crashing(alert: Any, target: Any, ctx: Any) -> DeliveryResult:
    raise RuntimeError(f"boom with {target.secret}")


def test_the_shared_opening_scrubs_failures_and_contains_crashes() -> None:
    integration = make_integration("jira", {"jira_url": "https://j.example", "project_key": "SEC"}, secret="jira")
    leaked = deliver(OutputSpec(jira.OUTPUT.integration, _leaky, jira.body), make_alert(), integration, make_ctx())
    assert leaked.message == "receiver said: bad token ***"
    crashed = deliver(OutputSpec(jira.OUTPUT.integration, _crashing, jira.body), make_alert(), integration, make_ctx())
    assert (crashed.ok, crashed.retryable, crashed.message) == (False, True, "output error: RuntimeError")
