"""The outbox worker: route new alerts, send due deliveries, retry only what failed.

Retries: network errors, timeouts, 5xx, 408 and 429 are retried with exponential backoff and
full jitter (Retry-After honoured when the receiver sends it) until the delivery's `expires_at`
(MANTISSA_DELIVERY_MAX_AGE_SECONDS after routing, 24 h by default), whatever the tick rate; any
other 4xx is permanent. A dead delivery keeps its last error, is shown in the alert, and can be
redelivered. Integrations flip to `status: error` when their deliveries start failing and back
to `configured` when one succeeds.

`tick` sends every due delivery and waits for them (tests, `worker --once`); the worker's own
loop calls `pump`, which hands due deliveries to standing sender threads (`senders`) and returns
at once, so one slow receiver (each send has its own hard deadline) never holds up the others or
the next pass.

Store work is batched, not per delivery: the due deliveries of a pass are claimed together (one
write transaction on SQLite; still one conditional write each on DynamoDB, so each claim
succeeds or fails alone), their alerts read in one batch and each integration once, and the
outcomes written together by group commit (`group_commit`), followed by one write for the alerts'
delivery states. Connections stay open per destination (`outputs.connections`) until `close`.
The guarantees do not change: a delivery is sent only under a claim this worker holds, its
outcome is written only while the claim is still this worker's, and a worker that dies before
writing it leaves the lease to expire and the delivery to be sent again.

Time comes from the injected clock only (due times, leases, stamps), so tests move it by hand
instead of sleeping through backoffs; the jitter stays random.
"""

from __future__ import annotations

import copy
import functools
import logging
import queue
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from mantissa_log.clock import SYSTEM_CLOCK, Clock, epoch, iso, parse_iso
from mantissa_log.config import Settings
from mantissa_log.domain.alerts import Alert, Delivery, FinalDeliveryState, due_at
from mantissa_log.domain.integrations import Integration, IntegrationStatus
from mantissa_log.outputs.base import OutputContext
from mantissa_log.outputs.connections import HttpClients
from mantissa_log.outputs.registry import OutputRegistry
from mantissa_log.outputs.template_pool import TemplateRenderer
from mantissa_log.secrets.base import SecretStore
from mantissa_log.services.delivery.claims import ClaimKeeper
from mantissa_log.services.delivery.context import output_context
from mantissa_log.services.delivery.group_commit import GroupCommit
from mantissa_log.services.delivery.router import AlertRouter
from mantissa_log.services.delivery.senders import StandingSenders
from mantissa_log.state.repositories.alerts import AlertRepository
from mantissa_log.state.repositories.deliveries import (
    DeliveryKey,
    DeliveryRepository,
    JiraLedgerRepository,
    Outcome,
    closed,
    delivery_key,
    rescheduled,
)
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


# A send does not start when its claim has less than this left (or a quarter of the lease, if
# less): the claim is renewed while the send runs (`claims`), but a store that fails to renew it
# must not let a send start that would outlive it.
LEASE_MARGIN_SECONDS = 30.0
# The worker's loop keeps up to this many deliveries per sender in hand (claimed, queued or
# being sent): enough that claims and outcome writes come in batches.
IN_FLIGHT_PER_SENDER = 16
# ... and tops that up only once this share of it is free. Every refill reads the due queue
# (stepping over the rows in flight, which are still at its front), claims, and reads the alerts,
# integrations and secrets of its batch: pumping every 10 ms at ~2,000 sends a second refilled ~20
# at a time (the due read alone was 16-19 % of the loop's profile). The senders still have three
# quarters of a window queued when the refill comes, so they never wait for it.
REFILL_SHARE = 4
ROUTE_EVERY_SECONDS = 1.0
RETRY_AFTER_MAX = 3600.0  # a receiver asking for more than an hour is asking too much


def backoff_seconds(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Jitter over an exponential ceiling; a receiver's Retry-After is a floor we respect
    (even above our own cap, up to an hour)."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return max(delay, min(retry_after or 0.0, RETRY_AFTER_MAX))


@dataclass(frozen=True)
class _Job:
    """A claimed delivery with what sending it needs, read once for the whole batch."""

    delivery: Delivery
    alert: Alert | None
    integration: Integration | None
    ctx: OutputContext
    report: OutboxReport
    pumped: bool = False


@dataclass(frozen=True)
class _Finished:
    job: _Job
    outcome: Outcome
    counted_as: str  # the OutboxReport field, counted once the outcome is written
    integration_ok: bool | None = None  # None: the integration was not tried


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
        self._senders: StandingSenders[_Job] | None = None
        self._in_flight: set[DeliveryKey] = set()
        self._in_flight_lock = threading.Lock()
        self.templates = templates
        self.http = HttpClients()
        self._recorder: GroupCommit[_Finished] = GroupCommit(self._record)
        self.claims = ClaimKeeper(deliveries, owner, config.delivery_lease_seconds, clock)
        # When `pump` last routed (monotonic), None before its first pass. Not a number standing for
        # "long ago": the monotonic clock's origin is unspecified (on Linux, the machine's boot), so
        # any such number is recent on a machine up for less than the period.
        self._routed_at: float | None = None

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
        now = epoch(self.clock.now())
        due = self.deliveries.due_keys(due_at(now), limit=limit, claimable_at=now)
        jobs = self._claim(due, report)
        # Receivers are slow compared with the store: send several at once. Every job's claim is
        # this worker's alone, so threads (and other workers) never share a delivery. Plain
        # threads on a queue rather than a pool's map: a future per delivery (a lock and a
        # condition each) cost more than a lean send.
        work: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        outcomes: list[_Finished | None] = [None] * len(jobs)
        senders = [
            threading.Thread(target=self._send_queued, args=(jobs, work, outcomes), daemon=True)
            for _ in range(min(self.concurrency, len(jobs)))
        ]
        for number in range(len(jobs)):
            work.put(number)
        for sender in senders:
            work.put(None)
            sender.start()
        for sender in senders:
            sender.join()
        # The pass waits for its sends anyway: write all their outcomes together, in claim order.
        self._record([f for f in outcomes if f is not None])  # lets go of their claims
        self.claims.let_go([job.delivery for job, f in zip(jobs, outcomes, strict=True) if f is None])
        return report

    def _send_queued(
        self, jobs: Sequence[_Job], work: queue.SimpleQueue[int | None], outcomes: list[_Finished | None]
    ) -> None:
        while (number := work.get()) is not None:
            outcomes[number] = self._attempt_logged(jobs[number])

    def pump(self, *, limit: int = 500) -> int:
        """Route new alerts and hand due deliveries not already in flight to the standing senders,
        up to `concurrency * IN_FLIGHT_PER_SENDER` in flight (topped up once 1 / `REFILL_SHARE` of
        that is free); returns how many are in flight after the pass (those just handed over included;
        at least 1 when another worker won some of its claims), so the worker's loop knows to come
        back soon. Never waits for a send."""
        # Unrouted alerts are a crash's leftovers (the detection runner routes what it stores): a
        # look once a second is enough, not one per pump (every 10 ms while sends are in flight).
        moment = time.monotonic()
        if self._routed_at is None or moment - self._routed_at >= ROUTE_EVERY_SECONDS:
            self._routed_at = moment
            self.route_pending(OutboxReport())
        if self._senders is None:
            self._senders = StandingSenders(self.concurrency, self._send_and_record, name="outbox")
        taken: list[DeliveryKey] = []
        window = self.concurrency * IN_FLIGHT_PER_SENDER
        with self._in_flight_lock:
            room = window - len(self._in_flight)
            if room < max(window // REFILL_SHARE, 1):
                return len(self._in_flight)  # enough in hand: refill in a bigger batch later
            # Only rows nobody holds (ours in flight included: they hold a live claim) and only
            # as many as there is room for, so other outbox processes' claims at the front of
            # the queue are stepped over rather than read again and again.
            now = epoch(self.clock.now())
            due = self.deliveries.due_keys(due_at(now), limit=min(limit, room), claimable_at=now)
            for key in due:
                if key in self._in_flight or len(self._in_flight) >= window:
                    continue
                self._in_flight.add(key)
                taken.append(key)
        try:
            jobs = self._claim(taken, OutboxReport(), pumped=True)
        except Exception:
            self._release(taken)
            raise
        claimed = {delivery_key(job.delivery) for job in jobs}
        self._release([key for key in taken if key not in claimed])
        for job in jobs:
            self._senders.submit(job)
        with self._in_flight_lock:
            # Claims lost to another process mean due work is still there: come back soon
            # (answering 0 would make the loop wait its whole period).
            return max(len(self._in_flight), 1 if len(jobs) < len(taken) else 0)

    def close(self) -> None:
        """Let sends in flight finish (each within its own deadline), write their outcomes, stop
        the senders and close the kept-open connections."""
        if self._senders is not None:
            self._senders.close()
            self._senders = None
        self._recorder.flush()
        self.claims.close()
        self.http.close()

    def _release(self, keys: Sequence[DeliveryKey]) -> None:
        with self._in_flight_lock:
            for key in keys:
                self._in_flight.discard(key)

    # -- a batch: claim, read once, send each, record together --------------------------------
    def _claim(self, due: Sequence[DeliveryKey], report: OutboxReport, *, pumped: bool = False) -> list[_Job]:
        if not due:
            return []
        now = epoch(self.clock.now())
        lease = self.config.delivery_lease_seconds
        claimed = [c for c in self.deliveries.claim_keys(due, self.owner, now, lease) if c is not None]
        if not claimed:
            return []
        alerts = self.alerts.get_alerts([(d.user_id, d.alert_id) for d in claimed])
        integrations: dict[tuple[str, str], Integration | None] = {}
        for d in claimed:
            if (d.user_id, d.integration_id) not in integrations:
                integrations[(d.user_id, d.integration_id)] = self.integrations.get_integration(
                    d.user_id, d.integration_id
                )
        # Each secret is read once per batch (the store may be remote); a failed read is not kept.
        ctx = output_context(self.config, self.secrets, self.ledger, templates=self.templates, http=self.http)
        ctx.secret = functools.lru_cache(maxsize=None)(self.secrets.get)
        jobs = [
            _Job(
                d, alerts.get((d.user_id, d.alert_id)), integrations[(d.user_id, d.integration_id)], ctx, report, pumped
            )
            for d in claimed
        ]
        self.claims.hold(claimed)  # last: a read failing above leaves nothing held (claims lapse)
        return jobs

    def _send_and_record(self, job: _Job) -> None:
        """A pumped send: its outcome is written by group commit with those finishing meanwhile."""
        finished = self._attempt_logged(job)
        if finished is None:
            self.claims.let_go([job.delivery])
            self._release([delivery_key(job.delivery)])
            return
        self._recorder.add(finished)

    def _attempt_logged(self, job: _Job) -> _Finished | None:
        try:
            return self._attempt(job)
        except Exception:  # outputs never raise (see registry); the lease expires and another pass retries
            log.exception("delivery %s/%s failed", job.delivery.alert_key, job.delivery.integration_id)
            return None

    def _attempt(self, job: _Job) -> _Finished | None:
        delivery, alert, integration = job.delivery, job.alert, job.integration
        if alert is None or integration is None or not integration.enabled:
            why = "the alert is gone" if alert is None else "the integration was deleted or disabled"
            return _Finished(job, closed(delivery, status="dead", now=self.clock.now(), error=why), "dead")
        left = self.claims.seconds_left(delivery)
        if left is None or left < self._lease_margin():
            # The claim was lost, or is about to lapse (its renewals failed): another worker may
            # send this delivery, so this one does not. Unrecorded, it is claimed afresh later.
            log.warning(
                "delivery %s/%s: the claim on it is lost or about to lapse; not sent under it",
                delivery.alert_key,
                delivery.integration_id,
            )
            return None
        ctx = copy.copy(job.ctx)  # the batch's context with this delivery's idempotency key
        ctx.extra_headers = {
            **ctx.extra_headers,
            "X-Mantissa-Delivery": f"{delivery.alert_key}/{delivery.integration_id}",
        }
        result = self.outputs.send(alert, integration, ctx)  # a crashing output is a retryable failure
        attempts = delivery.attempts + 1
        now = self.clock.now()

        def final(status: FinalDeliveryState, error: str | None) -> Outcome:
            return closed(
                delivery,
                status=status,
                now=now,
                attempts=attempts,
                error=error,
                status_code=result.status_code,
                reference=result.reference,
            )

        if result.ok:
            if result.skipped:
                return _Finished(job, final("skipped", result.message), "skipped")
            return _Finished(job, final("delivered", None), "sent", True)
        expires = parse_iso(delivery.expires_at)
        if result.retryable and now < expires:
            wait = backoff_seconds(
                attempts,
                self.config.delivery_backoff_seconds,
                self.config.delivery_backoff_max_seconds,
                result.retry_after,
            )
            # The last try is at the age limit itself; failing then, the delivery is dead.
            outcome = rescheduled(
                delivery,
                attempts=attempts,
                due=min(now + timedelta(seconds=wait), expires),
                error=result.message,
                status_code=result.status_code,
                now=now,
            )
            return _Finished(job, outcome, "retried", False)
        return _Finished(job, final("dead", result.message), "dead", False)

    def _lease_margin(self) -> float:
        return min(LEASE_MARGIN_SECONDS, self.config.delivery_lease_seconds / 4)

    def _record(self, batch: list[_Finished]) -> None:
        """Write a batch of outcomes under this worker's claims, then what follows from them."""
        if not batch:
            return
        try:
            written = self.deliveries.record_many(self.owner, [f.outcome for f in batch])
            kept = [f for f, ok in zip(batch, written, strict=True) if ok]
            for f, ok in zip(batch, written, strict=True):
                if not ok:
                    d = f.job.delivery
                    log.warning(
                        "delivery %s/%s: claim lost before its outcome was written", d.alert_key, d.integration_id
                    )
            for f in kept:
                f.job.report.count(f.counted_as)
            self._refresh_alerts([f.job.delivery for f in kept if f.outcome.status != "pending"])
            self._mark_integrations(kept)
        except Exception as exc:  # the store failed: unwritten claims expire and another pass retries
            log.exception("writing %d delivery outcomes failed", len(batch))
            for f in batch:
                f.job.report.errors.append(f"{f.job.delivery.alert_key}/{f.job.delivery.integration_id}: {exc}")
        finally:
            self.claims.let_go([f.job.delivery for f in batch])
            self._release([delivery_key(f.job.delivery) for f in batch if f.job.pumped])

    def _refresh_alerts(self, finished: Sequence[Delivery]) -> None:
        """Each alert's delivery status, summarised from all its deliveries once none is pending."""
        states: list[tuple[str, str, str]] = []
        found = self.deliveries.states_for_alerts(list(dict.fromkeys((d.user_id, d.alert_id) for d in finished)))
        for (user_id, alert_id), delivery_states in found.items():
            status = _summary(delivery_states)
            if status is not None:
                states.append((user_id, alert_id, status))
        if states:
            self.alerts.set_delivery_states(states)

    def _mark_integrations(self, finished: Sequence[_Finished]) -> None:
        """Flip an integration's `status` only on a change; the batch's last attempt decides."""
        last: dict[tuple[str, str], tuple[Integration, bool]] = {}
        for f in finished:
            if f.integration_ok is not None and f.job.integration is not None:
                integration = f.job.integration
                last[(integration.user_id, integration.integration_id)] = (integration, f.integration_ok)
        for integration, ok in last.values():
            if ok and integration.status == "error":
                status: IntegrationStatus = "configured"
            elif not ok and integration.status != "error":
                status = "error"
            else:
                continue
            self.integrations.set_status(integration.user_id, integration.integration_id, status, iso(self.clock.now()))


def _summary(states: set[str]) -> str | None:
    """An alert's delivery status from its deliveries' states; None while any is pending."""
    if "pending" in states:
        return None
    if states <= {"delivered", "skipped"}:
        return "delivered" if "delivered" in states else "none"
    return "partial" if "delivered" in states else "dead"
