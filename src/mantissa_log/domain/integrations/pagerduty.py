"""PagerDuty Events API v2 configuration. The routing (service) key is a secret."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from mantissa_log.domain.common import SecretRef, Severity, StrictModel


class PagerDutyConfig(StrictModel):
    # Managed by the server: mirrors the integration's `secret_arn`.
    service_key: SecretRef | None = None
    severity_threshold: Severity = "high"
    dedup_key_prefix: Annotated[str, StringConstraints(pattern=r"^[\w.:-]{0,100}$")] = "mantissa-log"
