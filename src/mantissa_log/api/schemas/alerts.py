"""Alerts and their per-destination delivery state."""

from __future__ import annotations

from pydantic import BaseModel

from mantissa_log.domain.alerts import Alert, Delivery, DeliveryState
from mantissa_log.services.alerts import AlertDetail


class DeliveryPublic(BaseModel):
    integration_id: str
    integration_type: str
    status: DeliveryState
    attempts: int
    max_attempts: int
    last_error: str | None = None
    last_status_code: int | None = None
    reference: str | None = None
    delivered_at: str | None = None
    updated_at: str

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryPublic:
        return cls.model_validate({name: getattr(delivery, name) for name in cls.model_fields})


class AlertWithDeliveries(Alert):
    deliveries: list[DeliveryPublic]

    @classmethod
    def of(cls, detail: AlertDetail) -> AlertWithDeliveries:
        return cls.model_validate(
            detail.alert.model_dump() | {"deliveries": [DeliveryPublic.of(d) for d in detail.deliveries]}
        )
