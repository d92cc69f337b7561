"""Keeping this worker's delivery claims alive while their sends run.

A claim is a lease (`MANTISSA_DELIVERY_LEASE_SECONDS`, 300 s by default). A send can outlast it:
a webhook may try `retry_count + 1` times, each try up to three times its `timeout_seconds`
(4 x 90 s with the defaults), and a pass's claimed deliveries can wait behind slow receivers for
a free sender. Once a claim lapses another worker takes the delivery and sends it too: the
receiver gets it twice. So while a claimed delivery is in hand (claimed, its outcome not yet
written), a background thread renews its lease, by a conditional write that holds only while
the claim is still this worker's and the delivery still pending, each time less than two thirds
of the lease is left. A worker that dies stops renewing, and its claims lapse as before.

Only claims held for more than a third of the lease are ever renewed, so a busy outbox whose
sends are quick writes nothing more. And none is renewed once held for MAX_HOLD_SECONDS: every
output's own deadlines end a send well before that, so a send still running then is stuck (a
bug), and letting its claim lapse means another worker delivers it, perhaps a second time,
rather than nobody ever. Time is the injected clock's (leases are stamped with it);
the thread wakes six times a lease in real time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from mantissa_log.clock import Clock, epoch
from mantissa_log.domain.alerts import Delivery
from mantissa_log.state.repositories.deliveries import DeliveryKey, DeliveryRepository, delivery_key

log = logging.getLogger("mantissa_log.outbox")


# The longest a claim is kept alive: the longest send the outputs allow is a webhook's 11 tries
# (`retry_count` at most 10) of at most 3 x 120 s each, plus its template's render (at most 60 s):
# 67 minutes; about twice that, for sends that waited for a free sender first. A test holds it
# above one and a half times every output's longest send, from the settings' own limits.
MAX_HOLD_SECONDS = 2 * 11 * 3 * 120.0


@dataclass
class _Held:
    delivery: Delivery  # as the last claim or renewal wrote it (its lease end)
    since: float  # clock epoch of the claim, for `max_hold`
    stuck: bool = False  # held past `max_hold`: no longer renewed (and said once)


class ClaimKeeper:
    """The deliveries this worker holds a claim on, each with its current lease end."""

    def __init__(
        self,
        deliveries: DeliveryRepository,
        owner: str,
        lease_seconds: float,
        clock: Clock,
        *,
        max_hold: float = MAX_HOLD_SECONDS,
    ) -> None:
        self.deliveries = deliveries
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.max_hold = max_hold
        self._held: dict[DeliveryKey, _Held] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, claimed: Sequence[Delivery]) -> None:
        """Deliveries just claimed (as the claim wrote them, lease end included)."""
        if not claimed:
            return
        now = epoch(self.clock.now())
        with self._lock:
            for delivery in claimed:
                self._held[delivery_key(delivery)] = _Held(delivery, now)
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="outbox-claims", daemon=True)
                self._thread.start()

    def let_go(self, deliveries: Sequence[Delivery]) -> None:
        """Deliveries whose outcome is written, or that will not be sent under this claim."""
        with self._lock:
            for delivery in deliveries:
                self._held.pop(delivery_key(delivery), None)

    def seconds_left(self, delivery: Delivery) -> float | None:
        """How long this worker's claim on the delivery still holds; None once it is lost."""
        with self._lock:
            held = self._held.get(delivery_key(delivery))
        if held is None or held.delivery.lease_until is None:
            return None
        return held.delivery.lease_until - epoch(self.clock.now())

    def renew_due(self) -> int:
        """Renew every held claim with less than two thirds of its lease left (and held for less than
        `max_hold`); how many were."""
        now = epoch(self.clock.now())
        due: list[Delivery] = []
        with self._lock:
            for key, held in self._held.items():
                if (held.delivery.lease_until or 0.0) - now >= self.lease_seconds * 2 / 3:
                    continue
                if now - held.since < self.max_hold:
                    due.append(held.delivery)
                elif not held.stuck:
                    held.stuck = True
                    log.error(
                        "delivery %s/%s: its send has run for over %.0f s and is stuck; its claim is left to lapse",
                        *key,
                        self.max_hold,
                    )
        if not due:
            return 0
        renewed = self.deliveries.renew_many(due, self.owner, now, self.lease_seconds)
        with self._lock:
            for old, new in zip(due, renewed, strict=True):
                key = delivery_key(old)
                kept = self._held.get(key)
                if kept is None:
                    continue  # recorded meanwhile
                if new is None:
                    # Another worker took it, or it lapsed before this renewal: not ours to send.
                    log.warning("delivery %s/%s: claim lost before its send ended", *key)
                    del self._held[key]
                else:
                    kept.delivery = new
        return sum(new is not None for new in renewed)

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)

    def _run(self) -> None:
        # Woken six times a lease: a claim is renewed with about half its lease still to run, so
        # a renewal can be late by that much before the claim lapses.
        while not self._stop.wait(self.lease_seconds / 6):
            try:
                self.renew_due()
            except Exception:  # the store failed: try again next time; the claims may lapse meanwhile
                log.exception("renewing delivery claims failed")
