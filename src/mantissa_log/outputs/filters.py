"""Each integration's own severity settings: which alerts it wants at all."""

from __future__ import annotations

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.common import SEVERITY_RANK
from mantissa_log.domain.integrations import Integration
from mantissa_log.domain.integrations.email import EmailConfig
from mantissa_log.domain.integrations.pagerduty import PagerDutyConfig
from mantissa_log.domain.integrations.slack import SlackConfig
from mantissa_log.outputs.base import DeliveryResult


def passes_filter(alert: Alert, integration: Integration) -> bool:
    """`severity_filter` (Slack, email) lists severities; `severity_threshold` (PagerDuty) is a minimum."""
    config = integration.config
    if isinstance(config, SlackConfig | EmailConfig):
        return alert.severity in config.severity_filter
    if isinstance(config, PagerDutyConfig):
        return SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[config.severity_threshold]
    return True


def skipped(alert: Alert, integration: Integration) -> DeliveryResult:
    config = integration.config
    if isinstance(config, PagerDutyConfig):
        why = f"below severity_threshold {config.severity_threshold}"
    else:
        why = "not in severity_filter"
    return DeliveryResult(ok=True, skipped=True, message=f"skipped: severity {alert.severity} is {why}")


def wrong_type(integration: Integration, expected: str) -> DeliveryResult:
    return DeliveryResult(
        ok=False, message=f"integration type {integration.integration_type} sent to the {expected} output"
    )
