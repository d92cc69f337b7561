"""Alerts and their per-destination delivery state."""

from __future__ import annotations

from pydantic import BaseModel, Field

from mantissa_log.domain.alerts import MAX_NOTE, Alert, AlertStatus, Delivery, DeliveryState
from mantissa_log.domain.common import StrictModel
from mantissa_log.services.alerts import AlertDetail
from mantissa_log.services.delivery.service import Redelivered


class DeliveryPublic(BaseModel):
    integration_id: str
    integration_type: str
    status: DeliveryState
    attempts: int
    expires_at: str
    last_error: str | None = None
    last_status_code: int | None = None
    reference: str | None = None
    delivered_at: str | None = None
    updated_at: str

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls.model_validate({name: getattr(delivery, name) for name in cls.model_fields})


class RedeliveryResult(BaseModel):
    """Dead deliveries put back in the queue; each keeps its delivery id (`X-Mantissa-Delivery`)."""

    redelivered: int
    deliveries: list[DeliveryPublic]

    @classmethod
    def of(cls, done: Redelivered) -> RedeliveryResult:
        return cls(redelivered=done.count, deliveries=[DeliveryPublic.of(d) for d in done.deliveries])


class AlertWithDeliveries(Alert):
    deliveries: list[DeliveryPublic]

    @classmethod
    def of(cls, detail: AlertDetail) -> AlertWithDeliveries:
        return cls.model_validate(
            detail.alert.model_dump() | {"deliveries": [DeliveryPublic.of(d) for d in detail.deliveries]}
        )


class StatusChange(StrictModel):
    """Body of `POST /api/v1/alerts/{alert_id}/status`."""

    status: AlertStatus
    note: str | None = Field(default=None, max_length=MAX_NOTE)
