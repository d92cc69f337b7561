"""The detection-rule metadata item (seed table `mantissa-log-detection-rules-{environment}`).

The rule body (Sigma YAML plus Mantissa fields) lives in the rule store at `s3_key`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from mantissa_log.domain.common import (
    BoolString,
    CreatedFrom,
    IntegrationType,
    Name,
    RunStatus,
    Severity,
    StrictModel,
    Timestamp,
)

Schedule = Annotated[str, StringConstraints(pattern=r"^(rate|cron)\(.+\)$", max_length=256)]


def rule_s3_key(user_id: str, rule_name: str, version: str | None = None) -> str:
    """The seed's key layout for a rule body, `user_rules/<user>/<rule>.yaml`, with a version.

    Every write of a body goes to a new key (`<rule>.<version>.yaml`) and the metadata row then
    switches to it with a conditional write: a losing concurrent writer only ever deletes its
    own body, and a failed replace leaves the previous body and row untouched.
    """
    return (
        f"user_rules/{user_id}/{rule_name}.yaml"
        if version is None
        else f"user_rules/{user_id}/{rule_name}.{version}.yaml"
    )


class DetectionRule(StrictModel):
    user_id: Name
    rule_name: Name
    s3_key: str
    schedule: Schedule = "rate(5 minutes)"
    threshold: int = Field(default=1, ge=1, le=1_000_000)
    severity: Severity = "medium"
    enabled: BoolString = "true"
    alert_destinations: list[IntegrationType] = Field(default_factory=list)
    created_at: Timestamp
    updated_at: Timestamp
    created_from: CreatedFrom = "api"
    executions: int = Field(default=0, ge=0)
    last_execution: Timestamp | None = None
    last_execution_status: RunStatus | None = None
    # Added to the seed: why the last run failed, so a failing rule is visible, not silent.
    last_error: str | None = None
    last_alert: Timestamp | None = None
    alert_count: int = Field(default=0, ge=0)
    data_scanned_mb: float = Field(default=0, ge=0)
    avg_duration_ms: float = Field(default=0, ge=0)
    # Added: running sum behind avg_duration_ms, so the average stays exact under concurrency.
    total_duration_ms: float = Field(default=0, ge=0)
    # Added: how far the last run's window ended behind now (seconds); > 0 while catching up.
    lag_seconds: float | None = Field(default=None, ge=0)
    # Added: the run last counted in these statistics (a repeated run is counted once).
    last_run_id: str | None = None


class ExecutionRecord(StrictModel):
    """One run's contribution to a rule's statistics (access pattern 'update statistics')."""

    at: Timestamp
    status: RunStatus
    duration_ms: float = Field(ge=0)
    data_scanned_mb: float = Field(default=0, ge=0)
    alerts: int = Field(default=0, ge=0)
    error: str | None = None
    # Identifies the run (its rule and window): statistics count a run id once.
    run_id: str | None = None
    lag_seconds: float = Field(default=0, ge=0)
