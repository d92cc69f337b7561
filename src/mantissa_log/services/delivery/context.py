"""Building the outputs' context from configuration and the secret store."""

from __future__ import annotations

from mantissa_log.config import Settings
from mantissa_log.outputs.base import JiraIssueLedger, OutputContext
from mantissa_log.outputs.connections import HttpClients
from mantissa_log.outputs.template_pool import TemplateLimits, TemplateRenderer
from mantissa_log.secrets.base import SecretStore


def template_limits(config: Settings) -> TemplateLimits:
    return TemplateLimits(
        cpu_seconds=config.template_cpu_seconds,
        wall_seconds=config.template_timeout_seconds,
        memory_bytes=config.template_memory_mb << 20,
        max_workers=config.template_workers,
    )


def output_context(
    config: Settings,
    secrets: SecretStore,
    ledger: JiraIssueLedger | None,
    *,
    test: bool = False,
    templates: TemplateRenderer | None = None,
    http: HttpClients | None = None,
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
        smtp_from=config.smtp_from,
        smtp_from_domains=config.sender_domains,
        templates=templates,
        jira_ledger=ledger,
        test=test,
        http=http,
    )
