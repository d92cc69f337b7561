"""Delivery use cases the edges call: an outbox pass, an integration's test alert, redelivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mantissa_log.clock import Clock
from mantissa_log.domain.alerts import Delivery
from mantissa_log.errors import NotFound, ValidationFailed
from mantissa_log.services.delivery.outbox import Outbox, OutboxReport
from mantissa_log.services.delivery.testsend import IntegrationTester, TestSendResult
from mantissa_log.services.identity import Principal
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.alerts import AlertRepository
from mantissa_log.state.repositories.deliveries import DeliveryRepository


@dataclass(frozen=True)
class Redelivered:
    """Dead deliveries put back in the queue (same delivery ids: receivers can drop repeats)."""

    deliveries: list[Delivery]

    @property
    def count(self) -> int:
        return len(self.deliveries)


class DeliveryService:
    def __init__(
        self,
        outbox: Outbox,
        tester: IntegrationTester,
        deliveries: DeliveryRepository,
        alerts: AlertRepository,
        clock: Clock,
        max_age: timedelta,
    ) -> None:
        self.outbox = outbox
        self.tester = tester
        self.deliveries = deliveries
        self.alerts = alerts
        self.clock = clock
        self.max_age = max_age

    def tick(self) -> OutboxReport:
        """Route new alerts and send every due delivery once (waits for the sends)."""
        return self.outbox.tick()

    def pump(self) -> int:
        """Hand due deliveries to the standing pool without waiting (the worker's loop); returns
        how many are in flight (the loop comes back soon while any are)."""
        return self.outbox.pump()

    def close(self) -> None:
        self.outbox.close()

    def test_integration(self, who: Principal, integration_id: str) -> TestSendResult:
        """A clearly marked test alert through the integration's real transport."""
        return self.tester.send_test(who, integration_id)

    # -- redelivery of dead deliveries -----------------------------------------------------------
    def redeliver(self, who: Principal, alert_id: str, integration_id: str | None = None) -> Redelivered:
        """One alert's dead deliveries (or only the one to `integration_id`) sent again."""
        if self.alerts.get_alert(who.user_id, alert_id) is None:
            raise NotFound(f"no alert {alert_id}", field="alert_id")
        found = self.deliveries.for_alert(who.user_id, alert_id)
        if integration_id is not None:
            found = [d for d in found if d.integration_id == integration_id]
            if not found:
                raise NotFound(f"alert {alert_id} has no delivery to {integration_id}", field="integration_id")
            if found[0].status != "dead":
                raise ValidationFailed(f"the delivery is {found[0].status}, not dead", field="integration_id")
        return Redelivered(self._requeue(who.user_id, alert_id, [d for d in found if d.status == "dead"]))

    def redeliver_integration(self, who: Principal, integration_id: str) -> Redelivered:
        """Every dead delivery of the caller's alerts to one integration, sent again."""
        requeued: list[Delivery] = []
        # An alert with a dead delivery is `dead` or `partial` in the delivery-status index, or
        # `pending` while another of its deliveries (or a redelivered one) is still in flight.
        for status in ("dead", "partial", "pending"):
            start: Key | None = None
            while True:
                page = self.alerts.with_delivery_status(status, user_id=who.user_id, limit=200, start_key=start)
                for alert in page.items:
                    dead = [
                        d
                        for d in self.deliveries.for_alert(who.user_id, alert.alert_id)
                        if d.integration_id == integration_id and d.status == "dead"
                    ]
                    requeued += self._requeue(who.user_id, alert.alert_id, dead)
                if page.next_key is None:
                    break
                start = page.next_key
        return Redelivered(requeued)

    def _requeue(self, user_id: str, alert_id: str, dead: list[Delivery]) -> list[Delivery]:
        now = self.clock.now()
        requeued = []
        for delivery in dead:
            again = self.deliveries.redeliver(delivery, now=now, expires_at=now + self.max_age)
            if again is not None:  # None: someone else redelivered it first
                requeued.append(again)
        if requeued:
            self.alerts.set_delivery_state(user_id, alert_id, status="pending")
        return requeued
