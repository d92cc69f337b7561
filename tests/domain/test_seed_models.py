"""The seed's example items validate as they are; anything off the schema is refused by name."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mantissa_log.domain.integrations import INTEGRATION_ADAPTER, SlackIntegration, parse_integration
from mantissa_log.domain.rules import DetectionRule
from mantissa_log.domain.settings import UserSettings
from mantissa_log.domain.validation import parse_model, parse_with
from mantissa_log.errors import ValidationFailed

SM = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"

SETTINGS_EXAMPLE: dict[str, Any] = {
    "user_id": "user-123",
    "llm_provider": "anthropic",
    "llm_model": "claude-3-5-sonnet-20241022",
    "api_key_secret_id": SM + "user-123-anthropic-key",
    "preferences": {
        "query_model": "claude-3-5-sonnet-20241022",
        "detection_model": "claude-3-5-sonnet-20241022",
        "max_tokens": 2000,
        "temperature": 0.0,
    },
    "ui_preferences": {"theme": "dark", "default_time_range": "24h", "items_per_page": 50},
    "created_at": "2024-11-27T10:00:00Z",
    "updated_at": "2024-11-27T15:30:00Z",
}

RULE_EXAMPLE: dict[str, Any] = {
    "user_id": "user-123",
    "rule_name": "failed_login_attempts",
    "s3_key": "user_rules/user-123/failed_login_attempts.yaml",
    "schedule": "rate(5 minutes)",
    "threshold": 10,
    "severity": "high",
    "enabled": "true",
    "alert_destinations": ["slack", "email"],
    "created_at": "2024-11-27T10:00:00Z",
    "updated_at": "2024-11-27T15:30:00Z",
    "created_from": "web_ui",
    "executions": 145,
    "last_execution": "2024-11-27T15:25:00Z",
    "last_execution_status": "success",
    "last_alert": "2024-11-26T08:30:00Z",
    "alert_count": 3,
    "data_scanned_mb": 250,
    "avg_duration_ms": 1234,
}

COMMON = {
    "user_id": "user-123",
    "enabled": True,
    "status": "configured",
    "last_test": "2024-11-27T14:00:00Z",
    "last_test_status": "success",
    "created_at": "2024-11-20T10:00:00Z",
    "updated_at": "2024-11-27T14:00:00Z",
}

INTEGRATION_EXAMPLES: list[dict[str, Any]] = [
    COMMON
    | {
        "integration_id": "slack-main",
        "integration_type": "slack",
        "config": {
            "channel": "siem-alerts",
            "webhook_url_secret": SM + "user-123-slack-webhook",
            "severity_filter": ["critical", "high", "medium"],
            "mention_on_critical": True,
            "mention_user": "@oncall",
        },
        "secret_arn": SM + "user-123-slack-webhook",
    },
    COMMON
    | {
        "integration_id": "jira-security",
        "integration_type": "jira",
        "config": {
            "jira_url": "https://company.atlassian.net",
            "project_key": "SEC",
            "issue_type": "Security Finding",
            "priority_mapping": {
                "critical": "Highest",
                "high": "High",
                "medium": "Medium",
                "low": "Low",
                "info": "Lowest",
            },
            "assignee": "security-team",
            "labels": ["mantissa-log", "automated"],
        },
        "secret_arn": SM + "user-123-jira-api-token",
    },
    COMMON
    | {
        "integration_id": "pagerduty-oncall",
        "integration_type": "pagerduty",
        "config": {
            "service_key": SM + "user-123-pagerduty-key",
            "severity_threshold": "high",
            "dedup_key_prefix": "mantissa-log",
        },
        "secret_arn": SM + "user-123-pagerduty-key",
    },
    COMMON
    | {
        "integration_id": "email-security-team",
        "integration_type": "email",
        "config": {
            "recipients": ["security@company.com", "oncall@company.com"],
            "from_address": "mantissa-log@company.com",
            "severity_filter": ["critical", "high"],
            "include_query_results": True,
            "max_results_in_email": 10,
        },
    },
    COMMON
    | {
        "integration_id": "webhook-custom-siem",
        "integration_type": "webhook",
        "config": {
            "url": "https://siem.company.com/api/alerts",
            "method": "POST",
            "headers": {"Content-Type": "application/json", "Authorization": "Bearer ${SECRET}"},
            "payload_template": "custom",
            "template": '{"rule": "{{ alert.rule_name }}"}',
            "retry_count": 3,
            "timeout_seconds": 30,
        },
        "secret_arn": SM + "user-123-webhook-token",
    },
]


def test_seed_settings_example_round_trips() -> None:
    model = UserSettings.model_validate(SETTINGS_EXAMPLE)
    assert model.dump() == SETTINGS_EXAMPLE


def test_seed_rule_example_round_trips() -> None:
    model = DetectionRule.model_validate(RULE_EXAMPLE)
    dumped = model.dump()
    assert {k: dumped[k] for k in RULE_EXAMPLE} == RULE_EXAMPLE


@pytest.mark.parametrize("example", INTEGRATION_EXAMPLES, ids=lambda e: e["integration_type"])
def test_seed_integration_examples_round_trip(example: dict[str, Any]) -> None:
    model = parse_integration(example)
    assert model.integration_type == example["integration_type"]
    assert model.dump() == example


def test_integration_config_dispatches_on_type() -> None:
    model = INTEGRATION_ADAPTER.validate_python(INTEGRATION_EXAMPLES[0])
    assert isinstance(model, SlackIntegration)
    jira_config_on_slack = copy.deepcopy(INTEGRATION_EXAMPLES[0])
    jira_config_on_slack["config"] = INTEGRATION_EXAMPLES[1]["config"]
    with pytest.raises(ValidationFailed) as info:
        parse_with(INTEGRATION_ADAPTER, jira_config_on_slack)
    assert info.value.field is not None
    assert info.value.field.startswith("config.")


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"llm_provider": "cohere"}, "llm_provider", "anthropic"),
        ({"ui_preferences": {"theme": "blue"}}, "ui_preferences.theme", "light"),
        ({"ui_preferences": {"default_time_range": "1h"}}, "ui_preferences.default_time_range", "24h"),
        ({"ui_preferences": {"items_per_page": "50"}}, "ui_preferences.items_per_page", "integer"),
        ({"preferences": {"max_tokens": 2000, "temperature": 5}}, "preferences.temperature", "less than"),
        ({"favourite_colour": "red"}, "favourite_colour", "unknown field"),
        ({"created_at": "yesterday"}, "created_at", "pattern"),
    ],
)
def test_bad_settings_are_refused_by_field(change: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message) as info:
        parse_model(UserSettings, SETTINGS_EXAMPLE | change)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"enabled": True}, "enabled"),  # the seed's GSI key is the *string* "true"
        ({"enabled": "yes"}, "enabled"),
        ({"severity": "urgent"}, "severity"),
        ({"created_from": "email"}, "created_from"),
        ({"last_execution_status": "ok"}, "last_execution_status"),
        ({"threshold": 0}, "threshold"),
        ({"alert_destinations": ["sms"]}, "alert_destinations.0"),
        ({"rule_name": "../etc/passwd"}, "rule_name"),
    ],
)
def test_bad_rules_are_refused_by_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_model(DetectionRule, RULE_EXAMPLE | change)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("index", "change", "field"),
    [
        (0, {"integration_type": "teams"}, "integration_type"),
        (0, {"status": "ok"}, "status"),
        (0, {"last_test_status": "passed"}, "last_test_status"),
        (0, {"config": {"channel": "siem-alerts", "colour": "red"}}, "config.colour"),
        (0, {"config": {"severity_filter": ["urgent"]}}, "config.severity_filter.0"),
        (0, {"config": {"webhook_url_secret": "https://hooks.example/x"}}, "config.webhook_url_secret"),
        (1, {"config": {"jira_url": "https://x.atlassian.net", "project_key": "sec"}}, "config.project_key"),
        (2, {"config": {"severity_threshold": "urgent"}}, "config.severity_threshold"),
        (3, {"config": {"recipients": ["not-an-address"], "from_address": "a@b.co"}}, "config.recipients.0"),
        (3, {"config": {"recipients": [], "from_address": "a@b.co"}}, "config.recipients"),
        (4, {"config": {"url": "ftp://x", "method": "POST"}}, "config.url"),
        (4, {"config": {"url": "https://x.io", "method": "DELETE"}}, "config.method"),
        (4, {"config": {"url": "https://x.io", "headers": {"Authorization": "Bearer abc"}}}, "config.headers"),
        (4, {"config": {"url": "https://x.io", "payload_template": "custom"}}, "config"),
        (4, {"config": {"url": "https://x.io", "retry_count": 99}}, "config.retry_count"),
    ],
)
def test_bad_integrations_are_refused_by_field(index: int, change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_with(INTEGRATION_ADAPTER, INTEGRATION_EXAMPLES[index] | change)
    assert info.value.field == field
