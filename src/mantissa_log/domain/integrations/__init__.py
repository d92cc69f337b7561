"""The integration-settings item, its `config` dispatched on `integration_type`.

Each type's config model and spec (secret, severity filter, attempt budget) sit in its own
module; `INTEGRATION_SPECS` gathers the specs and the outputs layer adds a sender to each.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from mantissa_log.domain.common import INTEGRATION_TYPES, Name, RunStatus, SecretRef, StrictModel, Timestamp
from mantissa_log.domain.integrations import email, jira, pagerduty, slack, webhook
from mantissa_log.domain.integrations.email import EmailConfig
from mantissa_log.domain.integrations.jira import JiraConfig
from mantissa_log.domain.integrations.pagerduty import PagerDutyConfig
from mantissa_log.domain.integrations.slack import SlackConfig
from mantissa_log.domain.integrations.spec import IntegrationSpec
from mantissa_log.domain.integrations.webhook import WebhookConfig
from mantissa_log.errors import ConfigError

IntegrationStatus = Literal["configured", "error", "not_configured"]

INTEGRATION_SPECS: tuple[IntegrationSpec[Any], ...] = (slack.SPEC, jira.SPEC, pagerduty.SPEC, email.SPEC, webhook.SPEC)


def index_specs(specs: Iterable[IntegrationSpec[Any]]) -> dict[str, IntegrationSpec[Any]]:
    """Specs by name: exactly one for every `IntegrationType`, or an error naming the culprit."""
    by_name: dict[str, IntegrationSpec[Any]] = {}
    for spec in specs:
        if spec.name in by_name:
            raise ConfigError(f"integration type {spec.name!r} is described twice", field="integration_type")
        by_name[spec.name] = spec
    missing = [name for name in INTEGRATION_TYPES if name not in by_name]
    if missing:
        raise ConfigError(f"no spec for integration type(s) {', '.join(missing)}", field="integration_type")
    return by_name


_SPECS = index_specs(INTEGRATION_SPECS)


def integration_spec(integration_type: str) -> IntegrationSpec[Any]:
    """The spec of a stored or validated type (the literal guarantees one exists)."""
    return _SPECS[integration_type]


class IntegrationCommon(StrictModel):
    user_id: Name
    integration_id: Name
    enabled: bool = True
    secret_arn: SecretRef | None = None
    status: IntegrationStatus = "not_configured"
    last_test: Timestamp | None = None
    last_test_status: RunStatus | None = None
    last_test_error: str | None = None
    created_at: Timestamp
    updated_at: Timestamp


class SlackIntegration(IntegrationCommon):
    integration_type: Literal["slack"]
    config: SlackConfig


class JiraIntegration(IntegrationCommon):
    integration_type: Literal["jira"]
    config: JiraConfig


class PagerDutyIntegration(IntegrationCommon):
    integration_type: Literal["pagerduty"]
    config: PagerDutyConfig


class EmailIntegration(IntegrationCommon):
    integration_type: Literal["email"]
    config: EmailConfig


class WebhookIntegration(IntegrationCommon):
    integration_type: Literal["webhook"]
    config: WebhookConfig


Integration = Annotated[
    SlackIntegration | JiraIntegration | PagerDutyIntegration | EmailIntegration | WebhookIntegration,
    Field(discriminator="integration_type"),
]
INTEGRATION_ADAPTER: TypeAdapter[Integration] = TypeAdapter(Integration)


def parse_integration(data: dict[str, Any]) -> Integration:
    return INTEGRATION_ADAPTER.validate_python(data)


__all__ = [
    "INTEGRATION_SPECS",
    "EmailConfig",
    "Integration",
    "IntegrationSpec",
    "IntegrationStatus",
    "JiraConfig",
    "PagerDutyConfig",
    "SlackConfig",
    "WebhookConfig",
    "integration_spec",
    "parse_integration",
]
