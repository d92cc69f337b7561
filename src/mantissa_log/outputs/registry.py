"""Which sender handles which integration type, and the filter the router applies first."""

from __future__ import annotations

from mantissa_log.outputs import email, jira, pagerduty, slack, webhook
from mantissa_log.outputs.base import Output
from mantissa_log.outputs.filters import passes_filter
from mantissa_log.outputs.webhook import max_attempts

OUTPUTS: dict[str, Output] = {
    "slack": slack.send,
    "jira": jira.send,
    "pagerduty": pagerduty.send,
    "email": email.send,
    "webhook": webhook.send,
}

__all__ = ["OUTPUTS", "max_attempts", "passes_filter"]
