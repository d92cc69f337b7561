"""Each integration type described once: the specs agree with the pydantic unions and say what they mean."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from mantissa_log.domain.common import INTEGRATION_TYPES
from mantissa_log.domain.integrations import INTEGRATION_SPECS, Integration, integration_spec, parse_integration
from mantissa_log.domain.integrations.slack import SlackConfig
from mantissa_log.domain.integrations.spec import IntegrationSpec
from mantissa_log.domain.integrations.writes import IntegrationWrite
from mantissa_log.errors import ConfigError, ValidationFailed

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
T = "2026-11-27T10:00:00Z"


def _integration(kind: str, config: dict[str, Any], secret_arn: str | None = None) -> Any:
    data: dict[str, Any] = {
        "user_id": "u1",
        "integration_id": "i1",
        "integration_type": kind,
        "config": config,
        "created_at": T,
        "updated_at": T,
    }
    if secret_arn:
        data["secret_arn"] = secret_arn
    return parse_integration(data)


@pytest.mark.parametrize("union", [Integration, IntegrationWrite])
def test_the_unions_and_the_specs_name_the_same_types_and_configs(union: Any) -> None:
    members = get_args(get_args(union)[0])
    in_union = {
        get_args(m.model_fields["integration_type"].annotation)[0]: m.model_fields["config"].annotation for m in members
    }
    assert in_union == {s.name: s.config_model for s in INTEGRATION_SPECS}
    assert tuple(in_union) == INTEGRATION_TYPES


def test_which_types_need_a_secret() -> None:
    needs = {
        "slack": _integration("slack", {}),
        "jira": _integration("jira", {"jira_url": "https://j.example", "project_key": "SEC"}),
        "pagerduty": _integration("pagerduty", {}),
    }
    for kind, integration in needs.items():
        assert integration_spec(kind).needs_secret(integration.config), kind
    email = _integration("email", {"recipients": ["a@b.example"], "from_address": "m@b.example"})
    assert not integration_spec("email").needs_secret(email.config)
    plain = _integration("webhook", {"url": "https://x.example/"})
    keyed = _integration("webhook", {"url": "https://x.example/", "headers": {"X-Api-Key": "${SECRET}"}})
    assert not integration_spec("webhook").needs_secret(plain.config)
    assert integration_spec("webhook").needs_secret(keyed.config)


def test_secret_reference_mirrored_in_the_config() -> None:
    slack = integration_spec("slack")
    assert slack.secret_ref_field == "webhook_url_secret"
    assert slack.stored_ref(None, SlackConfig(webhook_url_secret=ARN + "a")) == ARN + "a"
    assert slack.stored_ref(ARN + "b", SlackConfig(webhook_url_secret=ARN + "a")) == ARN + "b"
    assert integration_spec("jira").secret_ref_field is None


def test_slack_secret_must_be_a_url_and_others_are_free_text() -> None:
    with pytest.raises(ValidationFailed, match="incoming-webhook URL") as caught:
        integration_spec("slack").check_secret("xoxb-not-a-url")
    assert caught.value.field == "secret"
    integration_spec("slack").check_secret("https://hooks.slack.com/services/T0/B0/x")
    integration_spec("jira").check_secret("any-token")


def test_a_misnamed_secret_reference_field_is_refused() -> None:
    with pytest.raises(ConfigError, match="webhook_url is not a field of SlackConfig"):
        IntegrationSpec(name="slack", config_model=SlackConfig, secret_label="URL", secret_ref_field="webhook_url")
