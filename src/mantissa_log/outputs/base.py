"""What every output shares: the result of one delivery attempt and the context it runs in.

Outputs hold no state between calls and see only the alert and the integration they are
given (both belong to the same user: the router guarantees it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.integrations import Integration


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
    jira_ledger: JiraIssueLedger | None = None
    # A test alert (integration test action): clearly marked in every output.
    test: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)


class Output(Protocol):
    def __call__(self, alert: Alert, integration: Integration, ctx: OutputContext) -> DeliveryResult: ...
