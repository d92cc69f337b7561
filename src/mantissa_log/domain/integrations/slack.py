"""Slack incoming-webhook configuration. The webhook URL itself is a secret."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from mantissa_log.domain.common import SEVERITIES, SecretRef, Severity, StrictModel
from mantissa_log.domain.integrations.spec import IntegrationSpec, always, listed
from mantissa_log.errors import ValidationFailed


class SlackConfig(StrictModel):
    channel: Annotated[str, StringConstraints(pattern=r"^[#@]?[a-z0-9][a-z0-9._-]{0,79}$")] | None = None
    # Managed by the server: mirrors the integration's `secret_arn`.
    webhook_url_secret: SecretRef | None = None
    severity_filter: list[Severity] = Field(default_factory=lambda: list(SEVERITIES), min_length=1)
    mention_on_critical: bool = False
    mention_user: Annotated[str, StringConstraints(pattern=r"^(@[\w.-]{1,80}|<[@!][\w^-]{1,80}>)$")] | None = None


def _check_secret(value: str) -> None:
    if not value.startswith(("https://", "http://")):
        raise ValidationFailed("a Slack secret is the incoming-webhook URL (https://...)", field="secret")


def _severity_filter(severity: Severity, config: SlackConfig) -> str | None:
    return listed(severity, config.severity_filter)


SPEC = IntegrationSpec(
    name="slack",
    config_model=SlackConfig,
    secret_label="Slack webhook URL",
    secret_ref_field="webhook_url_secret",
    needs_secret=always,
    check_secret=_check_secret,
    severity_filter=_severity_filter,
)
