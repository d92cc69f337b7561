"""Integration test sends and the audit page."""

from __future__ import annotations

from pydantic import BaseModel

from mantissa_log.domain.audit import AuditRecord, ChainVerdict
from mantissa_log.services.delivery.testsend import TestSendResult


class TestSendPublic(BaseModel):
    status: str
    http_status: int | None
    message: str

    @classmethod
    def of(cls, result: TestSendResult) -> TestSendPublic:
        return cls(status=result.status, http_status=result.http_status, message=result.message)


class AuditPage(BaseModel):
    items: list[AuditRecord]
    next: str | None = None
    verification: ChainVerdict


class HecAnswer(BaseModel):
    """An HTTP Event Collector answer: Splunk's text and code (0 success, 17 healthy, else a refusal)."""

    text: str
    code: int
