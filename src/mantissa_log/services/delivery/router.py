"""Routing: a rule's `alert_destinations` name integration types; every enabled integration of
those types that belongs to the alert's owner, and whose filter passes, gets a delivery record.
Never another user's integration: the lookup is the owner's own partition.
"""

from __future__ import annotations

from datetime import timedelta

from mantissa_log.clock import SYSTEM_CLOCK, Clock, epoch, iso
from mantissa_log.config import Settings
from mantissa_log.domain.alerts import Alert, Delivery, alert_key, due_at
from mantissa_log.domain.integrations import Integration
from mantissa_log.outputs.registry import OutputRegistry
from mantissa_log.state.repositories.alerts import AlertRepository
from mantissa_log.state.repositories.deliveries import DeliveryRepository
from mantissa_log.state.repositories.integrations import IntegrationRepository


class AlertRouter:
    def __init__(
        self,
        config: Settings,
        integrations: IntegrationRepository,
        deliveries: DeliveryRepository,
        alerts: AlertRepository,
        outputs: OutputRegistry,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.config = config
        self.integrations = integrations
        self.deliveries = deliveries
        self.alerts = alerts
        self.outputs = outputs
        self.clock = clock

    def targets(self, alert: Alert) -> list[Integration]:
        wanted = set(alert.alert_destinations)
        if not wanted:
            return []
        owned = self.integrations.list_integrations_for_user(alert.user_id).items
        return [
            i
            for i in owned
            if i.user_id == alert.user_id
            and i.integration_type in wanted
            and i.enabled
            and self.outputs.passes_filter(alert, i)
        ]

    def route(self, alert: Alert) -> list[Delivery]:
        """Create the alert's delivery records (idempotent) and hand the alert to the outbox."""
        created: list[Delivery] = []
        now = self.clock.now()
        stamp = iso(now)
        for integration in self.targets(alert):
            delivery = Delivery(
                alert_key=alert_key(alert.user_id, alert.alert_id),
                integration_id=integration.integration_id,
                user_id=alert.user_id,
                alert_id=alert.alert_id,
                integration_type=integration.integration_type,
                expires_at=iso(now + timedelta(seconds=self.config.delivery_max_age_seconds)),
                queue="due",
                due_at=due_at(epoch(now)),
                created_at=stamp,
                updated_at=stamp,
            )
            if self.deliveries.create(delivery):
                created.append(delivery)
        status = "pending" if self.deliveries.for_alert(alert.user_id, alert.alert_id) else "none"
        self.alerts.set_delivery_state(alert.user_id, alert.alert_id, status=status)
        return created
