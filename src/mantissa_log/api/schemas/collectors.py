"""Collector requests and answers. The credential is write-only: answers say only whether one is set."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from mantissa_log.domain.collectors import CollectorKind
from mantissa_log.domain.common import Name
from mantissa_log.services.collectors.service import CollectorView, CollectorWrite, RunReport


class CollectorBody(BaseModel):
    """A collector's configuration (PUT replaces it whole; an omitted `secret` keeps the stored one)."""

    model_config = ConfigDict(extra="forbid")

    kind: CollectorKind
    config: dict[str, Any] = Field(description="the kind's settings (docs/COLLECTORS.md); never a credential")
    secret: SecretStr | None = Field(
        default=None, description="write-only credential, kept in the secret store (Okta/GitHub token, AWS keys JSON)"
    )
    secret_ref: str | None = Field(default=None, description="or: a reference to a secret already in the store")
    every_seconds: int = Field(default=60, ge=5, le=86_400)
    enabled: bool = True

    def write(self) -> CollectorWrite:
        return CollectorWrite(
            kind=self.kind,
            config=self.config,
            secret=self.secret,
            secret_ref=self.secret_ref,
            every_seconds=self.every_seconds,
            enabled=self.enabled,
        )


class CollectorCreate(CollectorBody):
    collector_id: Name


class CollectorStatusPublic(BaseModel):
    last_attempt: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    last_note: str | None = Field(default=None, description="e.g. a rate limit that ended the last run early")
    lag_seconds: float | None = Field(default=None, description="now minus the newest event (or file) collected")
    events_per_hour: int = Field(description="events stored over the last hour")
    events_total: int
    running: bool
    next_run: str | None = None


class CollectorPublic(BaseModel):
    collector_id: str
    kind: str
    source: str = Field(description="the lake source its events go to")
    config: dict[str, Any]
    secret_ref: str | None = None
    every_seconds: int
    enabled: bool
    created_at: str
    updated_at: str
    status: CollectorStatusPublic

    @staticmethod
    def of(view: CollectorView) -> CollectorPublic:
        c, s = view.collector, view.status
        return CollectorPublic(
            collector_id=c.collector_id,
            kind=c.kind,
            source=c.source,
            config=c.config,
            secret_ref=c.secret_ref,
            every_seconds=c.every_seconds,
            enabled=c.enabled,
            created_at=c.created_at,
            updated_at=c.updated_at,
            status=CollectorStatusPublic(**s.__dict__),
        )


class CollectorTestResult(BaseModel):
    ok: bool
    message: str


class CollectorRunPublic(BaseModel):
    collector_id: str
    ran: bool = Field(description="false when another worker was running it")
    batches: int
    accepted: int
    duplicates: int
    rejected: int
    error: str | None = None
    notes: list[str] = []

    @staticmethod
    def of(report: RunReport) -> CollectorRunPublic:
        return CollectorRunPublic(**report.__dict__)
