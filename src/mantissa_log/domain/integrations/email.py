"""Email (SMTP) configuration. Server settings and credentials come from process configuration."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from mantissa_log.domain.common import SEVERITIES, Severity, StrictModel
from mantissa_log.domain.integrations.spec import IntegrationSpec, listed

# Deliberately plain: one @, no spaces or angle brackets (header injection), a dotted domain.
EmailAddress = Annotated[
    str, StringConstraints(pattern=r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", max_length=254)
]


class EmailConfig(StrictModel):
    recipients: list[EmailAddress] = Field(min_length=1, max_length=50)
    from_address: EmailAddress
    severity_filter: list[Severity] = Field(default_factory=lambda: list(SEVERITIES), min_length=1)
    include_query_results: bool = False
    max_results_in_email: int = Field(default=10, ge=0, le=1000)


def _severity_filter(severity: Severity, config: EmailConfig) -> str | None:
    return listed(severity, config.severity_filter)


# No integration secret: the SMTP credentials belong to the process configuration.
SPEC = IntegrationSpec(name="email", config_model=EmailConfig, severity_filter=_severity_filter)
