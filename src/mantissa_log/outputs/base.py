"""What every output shares: the result of one delivery attempt, the context it runs in, and
the record (`OutputSpec`) an output module gives the registry.

Outputs hold no state between calls and see only the alert and the integration they are
given (both belong to the same user: the router guarantees it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.common import StrictModel
from mantissa_log.domain.integrations import Integration, IntegrationSpec
from mantissa_log.outputs.connections import HttpClients
from mantissa_log.outputs.template_pool import TemplateRenderer

C = TypeVar("C", bound=StrictModel)


@dataclass(frozen=True)
class DeliveryResult:
    ok: bool
    # Worth trying again: network errors, timeouts, 5xx, 408, 429. Other 4xx are permanent.
    retryable: bool = False
    status_code: int | None = None
    message: str = ""
    # Seconds the receiver asked us to wait (Retry-After), if it did.
    retry_after: float | None = None
    # Where the alert landed, when the receiver says (Jira issue key, PagerDuty dedup key, ...).
    reference: str | None = None
    # Filtered out by the integration's own settings (severity_filter / severity_threshold): not sent.
    skipped: bool = False


class JiraIssueLedger(Protocol):
    """Remembers which Jira issue holds a dedup key, so repeats comment instead of opening new issues."""

    def issue_for(self, integration_key: str, dedup_key: str) -> str | None: ...

    def remember(self, integration_key: str, dedup_key: str, issue_key: str) -> None: ...

    def forget(self, integration_key: str, dedup_key: str) -> None: ...


@dataclass
class OutputContext:
    """Everything an output may use besides the alert and the integration."""

    secret: Callable[[str], str]  # secret reference (ARN) -> value
    allow_private_targets: bool = False
    public_url: str = "http://127.0.0.1:8000"
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password_secret: str | None = None
    smtp_timeout_seconds: float = 30.0
    # Sender addresses: the default sender, and the domains a user's `from_address` may use.
    smtp_from: str = "mantissa-log@localhost"
    smtp_from_domains: tuple[str, ...] = ()
    # Where webhook templates render (worker processes with limits); None: the process-wide default.
    templates: TemplateRenderer | None = None
    jira_ledger: JiraIssueLedger | None = None
    # A test alert (integration test action): clearly marked in every output.
    test: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)
    # Connections kept open per destination (the outbox's); None: one connection per send.
    http: HttpClients | None = None


@dataclass(frozen=True)
class Target(Generic[C]):
    """Where an alert goes, once the registry has checked the type and read the secret."""

    integration: Integration
    config: C  # `integration.config`, typed for this output
    secret: str | None = None

    def require_secret(self) -> str:
        """The secret of a type that always needs one (the registry does not send without it)."""
        if self.secret is None:
            raise RuntimeError(f"{self.integration.integration_type} output called without its secret")
        return self.secret


class PayloadError(Exception):
    """The integration's own settings cannot produce a body (e.g. a broken webhook template)."""


# A sender only builds and sends: type check, severity filter and secret are done before it runs.
Sender = Callable[[Alert, Target[C], OutputContext], DeliveryResult]
# The exact body bytes the sender would send (for tests and previews); may raise PayloadError.
PayloadBuilder = Callable[[Alert, Target[C], OutputContext], bytes]
# Checks at save time what only the output can judge (a template, a sender address); raises
# ValidationFailed naming the config field.
ConfigCheck = Callable[[C, OutputContext], None]


def no_config_check(_config: object, _ctx: OutputContext) -> None:
    return None


@dataclass(frozen=True)
class OutputSpec(Generic[C]):
    """One integration type as the outputs layer sees it: the domain's spec plus how to send."""

    integration: IntegrationSpec[C]
    send: Sender[C]
    build_payload: PayloadBuilder[C]
    check_config: ConfigCheck[C] = no_config_check

    @property
    def name(self) -> str:
        return self.integration.name
