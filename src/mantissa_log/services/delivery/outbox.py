"""The outbox worker: route new alerts, send due deliveries, retry only what failed.

Retries: network errors, timeouts, 5xx, 408 and 429 are retried with exponential backoff and
full jitter (Retry-After honoured when the receiver sends it) until the delivery's `expires_at`
(MANTISSA_DELIVERY_MAX_AGE_SECONDS after routing, 24 h by default), whatever the tick rate; any
other 4xx is permanent. A dead delivery keeps its last error, is shown in the alert, and can be
redelivered. Integrations flip to `status: error` when their deliveries start failing and back
to `configured` when one succeeds.

`tick` sends every due delivery and waits for them (tests, `worker --once`); the worker's own
loop calls `pump`, which hands due deliveries to a standing pool and returns at once, so one
slow receiver (each send has its own hard deadline) never holds up the others or the next pass.

Time comes from the injected clock only (due times, leases, stamps), so tests move it by hand
instead of sleeping through backoffs; the jitter stays random.
"""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from mantissa_log.clock import SYSTEM_CLOCK, Clock, epoch, iso, parse_iso
from mantissa_log.config import Settings
from mantissa_log.domain.alerts import Delivery, FinalDeliveryState, due_at
from mantissa_log.domain.integrations import Integration, IntegrationStatus
from mantissa_log.outputs.base import DeliveryResult
from mantissa_log.outputs.registry import OutputRegistry
from mantissa_log.outputs.template_pool import TemplateRenderer
from mantissa_log.secrets.base import SecretStore
from mantissa_log.services.delivery.context import output_context
from mantissa_log.services.delivery.router import AlertRouter
from mantissa_log.state.repositories.alerts import AlertRepository
from mantissa_log.state.repositories.deliveries import DeliveryRepository, JiraLedgerRepository
from mantissa_log.state.repositories.integrations import IntegrationRepository

log = logging.getLogger("mantissa_log.outbox")


@dataclass
class OutboxReport:
    routed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, outcome: str) -> None:
        with self._lock:  # deliveries finish on several threads
            setattr(self, outcome, getattr(self, outcome) + 1)


RETRY_AFTER_MAX = 3600.0  # a receiver asking for more than an hour is asking too much


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Jitter over an exponential ceiling; a receiver's Retry-After is a floor we respect
    (even above our own cap, up to an hour)."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return max(delay, min(retry_after or 0.0, RETRY_AFTER_MAX))


class Outbox:
    def __init__(
        self,
        config: Settings,
        alerts: AlertRepository,
        deliveries: DeliveryRepository,
        integrations: IntegrationRepository,
        router: AlertRouter,
        secrets: SecretStore,
        ledger: JiraLedgerRepository,
        owner: str,
        *,
        outputs: OutputRegistry,
        clock: Clock = SYSTEM_CLOCK,
        concurrency: int = 8,
        templates: TemplateRenderer | None = None,
    ) -> None:
        self.config = config
        self.alerts = alerts
        self.deliveries = deliveries
        self.integrations = integrations
        self.router = router
        self.secrets = secrets
        self.ledger = ledger
        self.owner = owner
        self.outputs = outputs
        self.clock = clock
        self.concurrency = concurrency
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: set[tuple[str, str]] = set()
        self._in_flight_lock = threading.Lock()
        self.templates = templates

    def route_pending(self, report: OutboxReport) -> None:
        """Alerts stored but not yet routed (e.g. the process died right after storing them)."""
        start = None
        while True:
            page = self.alerts.with_delivery_status("routing", limit=200, start_key=start)
            for alert in page.items:
                self.router.route(alert)
                report.count("routed")
            if page.next_key is None:
                return
            start = page.next_key

    def tick(self, *, limit: int = 500) -> OutboxReport:
        report = OutboxReport()
        self.route_pending(report)
        due = self.deliveries.due(due_at(epoch(self.clock.now())), limit=limit).items
        # Receivers are slow compared with the store: send several at once. Each delivery is
        # claimed by its own conditional write, so threads (and other workers) never share one.
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            list(pool.map(lambda d: self._claim_and_deliver(d, report), due))
        return report

    def pump(self, *, limit: int = 500) -> int:
        """Route new alerts and hand every due delivery not already in flight to the standing pool;
        returns how many were handed over. Never waits for a send."""
        self.route_pending(OutboxReport())
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="outbox")
        handed = 0
        for delivery in self.deliveries.due(due_at(epoch(self.clock.now())), limit=limit).items:
            key = (delivery.alert_key, delivery.integration_id)
            with self._in_flight_lock:
                if key in self._in_flight or len(self._in_flight) >= self.concurrency * 4:
                    continue
                self._in_flight.add(key)
            self._pool.submit(self._pumped, delivery, key)
            handed += 1
        return handed

    def _pumped(self, delivery: Delivery, key: tuple[str, str]) -> None:
        try:
            self._claim_and_deliver(delivery, OutboxReport())
        except Exception:  # the store failed mid-delivery: the claim expires and another pass retries
            log.exception("delivery %s/%s failed", delivery.alert_key, delivery.integration_id)
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(key)

    def close(self) -> None:
        """Let sends in flight finish (each within its own deadline) and stop the pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _claim_and_deliver(self, delivery: Delivery, report: OutboxReport) -> None:
        now = epoch(self.clock.now())
        claimed = self.deliveries.claim(delivery, self.owner, now, self.config.delivery_lease_seconds)
        if claimed is not None:
            self._deliver(claimed, report)

    def _deliver(self, delivery: Delivery, report: OutboxReport) -> None:
        alert = self.alerts.get_alert(delivery.user_id, delivery.alert_id)
        integration = self.integrations.get_integration(delivery.user_id, delivery.integration_id)
        if alert is None or integration is None or not integration.enabled:
            why = "the alert is gone" if alert is None else "the integration was deleted or disabled"
            self._close(delivery, "dead", report, error=why)
            return
        ctx = output_context(self.config, self.secrets, self.ledger, templates=self.templates)
        ctx.extra_headers["X-Mantissa-Delivery"] = f"{delivery.alert_key}/{delivery.integration_id}"
        result = self.outputs.send(alert, integration, ctx)  # a crashing output is a retryable failure
        attempts = delivery.attempts + 1
        if result.ok:
            if result.skipped:
                self._close(delivery, "skipped", report, result, attempts=attempts, error=result.message)
                return
            self._close(delivery, "delivered", report, result, attempts=attempts)
            self._mark_integration(integration, ok=True)
            return
        self._mark_integration(integration, ok=False)
        now = self.clock.now()
        expires = parse_iso(delivery.expires_at)
        if result.retryable and now < expires:
            wait = backoff_seconds(
                attempts,
                self.config.delivery_backoff_seconds,
                self.config.delivery_backoff_max_seconds,
                result.retry_after,
            )
            # The last try is at the age limit itself; failing then, the delivery is dead.
            self.deliveries.reschedule(
                delivery,
                self.owner,
                attempts=attempts,
                due=min(now + timedelta(seconds=wait), expires),
                error=result.message,
                status_code=result.status_code,
                now=now,
            )
            report.count("retried")
            return
        self._close(delivery, "dead", report, result, attempts=attempts, error=result.message)

    def _close(
        self,
        delivery: Delivery,
        status: FinalDeliveryState,
        report: OutboxReport,
        result: DeliveryResult | None = None,
        *,
        attempts: int | None = None,
        error: str | None = None,
    ) -> None:
        self.deliveries.close(
            delivery,
            self.owner,
            status=status,
            now=self.clock.now(),
            attempts=attempts,
            error=error,
            status_code=None if result is None else result.status_code,
            reference=None if result is None else result.reference,
        )
        if status == "delivered":
            report.count("sent")
        elif status == "skipped":
            report.count("skipped")
        else:
            report.count("dead")
        self._refresh_alert(delivery)

    def _refresh_alert(self, delivery: Delivery) -> None:
        states = {d.status for d in self.deliveries.for_alert(delivery.user_id, delivery.alert_id)}
        if "pending" in states:
            return
        if states <= {"delivered", "skipped"}:
            status = "delivered" if "delivered" in states else "none"
        elif "delivered" in states:
            status = "partial"
        else:
            status = "dead"
        self.alerts.set_delivery_state(delivery.user_id, delivery.alert_id, status=status)

    def _mark_integration(self, integration: Integration, *, ok: bool) -> None:
        """Flip `status` only on a change (the integration was read for this delivery already)."""
        if ok and integration.status == "error":
            status: IntegrationStatus = "configured"
        elif not ok and integration.status != "error":
            status = "error"
        else:
            return
        self.integrations.set_status(integration.user_id, integration.integration_id, status, iso(self.clock.now()))
