"""PagerDuty Events API v2 configuration. The routing (service) key is a secret."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from mantissa_log.domain.common import SecretRef, Severity, StrictModel
from mantissa_log.domain.integrations.spec import IntegrationSpec, always, at_least


class PagerDutyConfig(StrictModel):
    # Managed by the server: mirrors the integration's `secret_arn`.
    service_key: SecretRef | None = None
    severity_threshold: Severity = "high"
    dedup_key_prefix: Annotated[str, StringConstraints(pattern=r"^[\w.:-]{0,100}$")] = "mantissa-log"


def _severity_filter(severity: Severity, config: PagerDutyConfig) -> str | None:
    return at_least(severity, config.severity_threshold)


SPEC = IntegrationSpec(
    name="pagerduty",
    config_model=PagerDutyConfig,
    secret_label="PagerDuty routing key",
    secret_ref_field="service_key",
    needs_secret=always,
    severity_filter=_severity_filter,
)
