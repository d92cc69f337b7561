"""Email (SMTP) configuration. Server settings, credentials and allowed senders come from process configuration."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from mantissa_log.domain.common import SEVERITIES, Severity, StrictModel
from mantissa_log.domain.integrations.spec import IntegrationSpec, listed

# Deliberately plain: one @, no spaces or angle brackets (header injection), a dotted domain.
EmailAddress = Annotated[
    str, StringConstraints(pattern=r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=254)
]


MAX_RECIPIENTS = 10


class EmailConfig(StrictModel):
    recipients: list[EmailAddress] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    # Must be in a domain the operator allows (MANTISSA_SMTP_FROM_DOMAINS, checked at save);
    # unset, the installation's default sender (MANTISSA_SMTP_FROM) is used.
    from_address: EmailAddress | None = None
    # Where replies go: any address, e.g. the user's own (the sender cannot be spoofed, this can't harm).
    reply_to: EmailAddress | None = None
    severity_filter: list[Severity] = Field(default_factory=lambda: list(SEVERITIES), min_length=1)
    include_query_results: bool = False
    max_results_in_email: int = Field(default=10, ge=0, le=1000)


def _severity_filter(severity: Severity, config: EmailConfig) -> str | None:
    return listed(severity, config.severity_filter)


# No integration secret: the SMTP credentials belong to the process configuration.
SPEC = IntegrationSpec(name="email", config_model=EmailConfig, severity_filter=_severity_filter)
