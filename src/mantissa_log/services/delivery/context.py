"""Building the outputs' context from configuration and the secret store."""

from __future__ import annotations

from mantissa_log.config import Settings
from mantissa_log.outputs.base import JiraIssueLedger, OutputContext
from mantissa_log.secrets.base import SecretStore


def output_context(
    config: Settings, secrets: SecretStore, ledger: JiraIssueLedger | None, *, test: bool = False
) -> OutputContext:
    return OutputContext(
        secret=secrets.get,
        allow_private_targets=config.allow_private_targets,
        public_url=config.public_url.rstrip("/"),
        pagerduty_events_url=config.pagerduty_events_url,
        smtp_host=config.smtp_host,
        smtp_port=config.smtp_port,
        smtp_starttls=config.smtp_starttls,
        smtp_username=config.smtp_username,
        smtp_password_secret=config.smtp_password_secret,
        smtp_timeout_seconds=config.smtp_timeout_seconds,
        jira_ledger=ledger,
        test=test,
    )
