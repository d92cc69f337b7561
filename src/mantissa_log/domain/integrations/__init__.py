"""The integration-settings item, its `config` dispatched on `integration_type`.

Each type's config model sits in its own module; the senders (outputs layer) import them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from mantissa_log.domain.common import Name, RunStatus, SecretRef, StrictModel, Timestamp
from mantissa_log.domain.integrations.email import EmailConfig
from mantissa_log.domain.integrations.jira import JiraConfig
from mantissa_log.domain.integrations.pagerduty import PagerDutyConfig
from mantissa_log.domain.integrations.slack import SlackConfig
from mantissa_log.domain.integrations.webhook import WebhookConfig

IntegrationStatus = Literal["configured", "error", "not_configured"]
ConfigModel = SlackConfig | JiraConfig | PagerDutyConfig | EmailConfig | WebhookConfig

CONFIG_MODELS: dict[str, type[ConfigModel]] = {
    "slack": SlackConfig,
    "jira": JiraConfig,
    "pagerduty": PagerDutyConfig,
    "email": EmailConfig,
    "webhook": WebhookConfig,
}

# Which config field mirrors `secret_arn`, for types whose seed config names the reference.
SECRET_REF_FIELD: dict[str, str] = {"slack": "webhook_url_secret", "pagerduty": "service_key"}


def needs_secret(integration_type: str, config: ConfigModel) -> bool:
    """Whether the integration cannot deliver without a stored secret."""
    if isinstance(config, WebhookConfig):
        return config.uses_secret()
    return integration_type in ("slack", "pagerduty", "jira")


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
    "CONFIG_MODELS",
    "SECRET_REF_FIELD",
    "ConfigModel",
    "EmailConfig",
    "Integration",
    "IntegrationStatus",
    "JiraConfig",
    "PagerDutyConfig",
    "SlackConfig",
    "WebhookConfig",
    "needs_secret",
    "parse_integration",
]
