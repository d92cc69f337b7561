"""The delivery outbox and the Jira issue ledger.

A worker takes a delivery only by a conditional write (still pending, no live lease), sends,
then records the outcome under the same lease. A worker killed between "sent" and "recorded"
leaves the lease to expire; the delivery is then sent again (at-least-once, never marked
delivered unless the receiver accepted it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mantissa_log.clock import epoch, iso
from mantissa_log.domain.alerts import Delivery, FinalDeliveryState, alert_key, due_at
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import MISSING, Key, Page, StateBackend, Update
from mantissa_log.state.conditions import Compare, Condition, NotExists, all_of, any_of
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import DELIVERIES, DUE_DELIVERIES_INDEX, JIRA_ISSUES

# A receiver's answer can be long; the record keeps its start (enough to see what went wrong).
MAX_ERROR_CHARS = 1000


# Fields older versions stored that the model no longer has: dropped on read, not refused.
_RETIRED_FIELDS = ("max_attempts",)


def _delivery(item: dict[str, Any]) -> Delivery:
    data = item
    if any(map(item.__contains__, _RETIRED_FIELDS)) or "expires_at" not in item:  # rare: copy only then
        data = {k: v for k, v in item.items() if k not in _RETIRED_FIELDS}
        # Records from before the age limit: give them one from now on reading.
        data.setdefault("expires_at", data.get("updated_at") or data.get("created_at"))
    return Delivery.model_validate(data)


def _claimable(now: float) -> Condition:
    """No worker holds a live claim (the lease half of a claim's condition)."""
    return any_of(NotExists("lease_owner"), Compare("lease_until", "<", now))


def _key(delivery: Delivery) -> Key:
    return {"alert_key": delivery.alert_key, "integration_id": delivery.integration_id}


# A delivery as the outbox's due read and claims name it: (alert_key, integration_id).
DeliveryKey = tuple[str, str]


def delivery_key(delivery: Delivery) -> DeliveryKey:
    return (delivery.alert_key, delivery.integration_id)


@dataclass(frozen=True)
class Outcome:
    """What one attempt changes on its delivery record (written under the worker's lease)."""

    delivery: Delivery
    values: dict[str, Any]
    remove: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return str(self.values.get("status", "pending"))


def _recording(outcome: Outcome, held_by_owner: Condition) -> Update:
    """`held_by_owner`: `_held_by(owner)`, one object for a whole batch (the store works a
    batch's shared condition out once)."""
    return Update(
        _key(outcome.delivery),
        set_values=outcome.values,
        remove=("lease_owner", "lease_until", *outcome.remove),
        condition=held_by_owner,
    )


def _held_by(owner: str) -> Condition:
    return Compare("lease_owner", "=", owner)


def rescheduled(
    delivery: Delivery, *, attempts: int, due: datetime, error: str, status_code: int | None, now: datetime
) -> Outcome:
    """A failed attempt to be tried again at `due`; its error and HTTP status (if the receiver
    answered at all) stay visible on the record meanwhile."""
    values: dict[str, Any] = {
        "attempts": attempts,
        "due_at": due_at(epoch(due)),
        "last_error": error[:MAX_ERROR_CHARS],
        "updated_at": iso(now),
    }
    remove: tuple[str, ...] = ()
    if status_code is None:
        remove = ("last_status_code",)  # no answer this time: an older status would mislead
    else:
        values["last_status_code"] = status_code
    return Outcome(delivery, values, remove)


def closed(
    delivery: Delivery,
    *,
    status: FinalDeliveryState,
    now: datetime,
    attempts: int | None = None,
    error: str | None = None,
    status_code: int | None = None,
    reference: str | None = None,
) -> Outcome:
    """The delivery's final state; it leaves the due queue. `error` says why it is dead (or
    skipped); a delivered record drops the error of an earlier failed attempt."""
    stamp = iso(now)
    values: dict[str, Any] = {"status": status, "updated_at": stamp}
    remove: tuple[str, ...] = ("queue", "due_at")
    if attempts is not None:
        values["attempts"] = attempts
    if status == "delivered":
        if error:
            raise ValueError("a delivered record has no error")
        values["delivered_at"] = stamp
        remove += ("last_error",)
    elif error:
        values["last_error"] = error[:MAX_ERROR_CHARS]
    if status_code is not None:
        values["last_status_code"] = status_code
    if reference:
        values["reference"] = reference
    return Outcome(delivery, values, remove)


class DeliveryRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def create(self, delivery: Delivery) -> bool:
        """Add a delivery unless it already exists (routing is idempotent); True when added."""
        try:
            self.backend.put(DELIVERIES, delivery.dump(), condition=NotExists("integration_id"))
        except Conflict:
            return False
        return True

    def for_alert(self, user_id: str, alert_id: str) -> list[Delivery]:
        return [_delivery(i) for i in self.backend.query_all(DELIVERIES, alert_key(user_id, alert_id))]

    def states_for_alert(self, user_id: str, alert_id: str) -> set[str]:
        """The states of the alert's deliveries (what its summary needs), without building models."""
        return self.states_for_alerts([(user_id, alert_id)])[(user_id, alert_id)]

    def states_for_alerts(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        """`states_for_alert` for many (user_id, alert_id) at once (one statement on SQLite)."""
        found = self.backend.attribute_values(DELIVERIES, [alert_key(u, a) for u, a in keys], "status")
        return {
            (u, a): {"pending" if s is MISSING else str(s) for s in found.get(alert_key(u, a), [])} for u, a in keys
        }

    def due(
        self, now_key: str, *, limit: int = 100, start_key: Key | None = None, claimable_at: float | None = None
    ) -> ModelPage[Delivery]:
        """Pending deliveries whose time has come, oldest first (the index is ordered by due_at).

        `claimable_at` (epoch seconds): only those no worker holds a live claim on at that time.
        Several outbox processes share the queue; without it each would read the same oldest
        rows, held by whichever claimed them first, and find nothing left to take."""
        ready, page = self._due_items(now_key, limit, start_key, claimable_at)
        more = page.next_key if len(ready) == len(page.items) else None
        return ModelPage([_delivery(i) for i in ready], more)

    def due_keys(self, now_key: str, *, limit: int, claimable_at: float) -> list[DeliveryKey]:
        """`due(...)`'s first page as keys only, for the outbox to claim: no model is built for
        a row it may not win (its claim reads the item back anyway)."""
        ready, _ = self._due_items(now_key, limit, None, claimable_at)
        return [(str(item["alert_key"]), str(item["integration_id"])) for item in ready]

    def _due_items(
        self, now_key: str, limit: int, start_key: Key | None, claimable_at: float | None
    ) -> tuple[list[dict[str, Any]], Page]:
        """A page of the due queue, and those of its items whose time has come."""
        filter = None if claimable_at is None else _claimable(claimable_at)
        page = self.backend.query(
            DELIVERIES, "due", index=DUE_DELIVERIES_INDEX, limit=limit, start_key=start_key, filter=filter
        )
        return [item for item in page.items if str(item.get("due_at") or "") <= now_key], page

    def claim(self, delivery: Delivery, owner: str, now: float, lease_seconds: float) -> Delivery | None:
        return self.claim_many([delivery], owner, now, lease_seconds)[0]

    def claim_many(
        self, deliveries: Sequence[Delivery], owner: str, now: float, lease_seconds: float
    ) -> list[Delivery | None]:
        return self.claim_keys([delivery_key(d) for d in deliveries], owner, now, lease_seconds)

    def claim_keys(
        self, keys: Sequence[DeliveryKey], owner: str, now: float, lease_seconds: float
    ) -> list[Delivery | None]:
        """Take each delivery that is still pending with no live lease (None for the others);
        one write transaction for the lot on SQLite, one conditional write each on DynamoDB."""
        values = {"lease_owner": owner, "lease_until": now + lease_seconds}
        return self._lease_many(keys, values, all_of(Compare("status", "=", "pending"), _claimable(now)))

    def renew_many(
        self, deliveries: Sequence[Delivery], owner: str, now: float, lease_seconds: float
    ) -> list[Delivery | None]:
        """Extend this worker's claims (a send still running): each only while the claim is still
        `owner`'s and the delivery pending; None where it is not (lost, or already recorded)."""
        values = {"lease_until": now + lease_seconds}
        return self._lease_many(
            [delivery_key(d) for d in deliveries],
            values,
            all_of(Compare("lease_owner", "=", owner), Compare("status", "=", "pending")),
        )

    def _lease_many(
        self, keys: Sequence[DeliveryKey], values: dict[str, Any], condition: Condition
    ) -> list[Delivery | None]:
        # One values dict and one condition for the lot (a batch is one shape to the store).
        updates = [
            Update({"alert_key": alert, "integration_id": integration}, values, condition=condition)
            for alert, integration in keys
        ]
        items = self.backend.update_many(DELIVERIES, updates)
        return [None if item is None else _delivery(item) for item in items]

    def reschedule(
        self,
        delivery: Delivery,
        owner: str,
        *,
        attempts: int,
        due: datetime,
        error: str,
        status_code: int | None,
        now: datetime,
    ) -> Delivery:
        """A failed attempt that will be tried again at `due` (see `rescheduled`)."""
        return self._record(
            owner, rescheduled(delivery, attempts=attempts, due=due, error=error, status_code=status_code, now=now)
        )

    def close(
        self,
        delivery: Delivery,
        owner: str,
        *,
        status: FinalDeliveryState,
        now: datetime,
        attempts: int | None = None,
        error: str | None = None,
        status_code: int | None = None,
        reference: str | None = None,
    ) -> Delivery:
        """The delivery's final state (see `closed`)."""
        outcome = closed(
            delivery,
            status=status,
            now=now,
            attempts=attempts,
            error=error,
            status_code=status_code,
            reference=reference,
        )
        return self._record(owner, outcome)

    def record_many(self, owner: str, outcomes: Sequence[Outcome]) -> list[bool]:
        """Write attempts' outcomes, each only while this worker still holds its claim; for each,
        whether it was written (False where the lease was lost: another worker may have taken
        the delivery since)."""
        held = _held_by(owner)
        items = self.backend.update_many(DELIVERIES, [_recording(o, held) for o in outcomes])
        return [item is not None for item in items]

    def redeliver(self, delivery: Delivery, *, now: datetime, expires_at: datetime) -> Delivery | None:
        """Put a dead delivery back in the queue, due now, with a fresh age limit; None unless dead.

        Its key (alert, integration) stays, so receivers see the same delivery id again.
        """
        try:
            item = self.backend.update(
                DELIVERIES,
                {"alert_key": delivery.alert_key, "integration_id": delivery.integration_id},
                set_values={
                    "status": "pending",
                    "queue": "due",
                    "due_at": due_at(epoch(now)),
                    "expires_at": iso(expires_at),
                    "updated_at": iso(now),
                },
                remove=("lease_owner", "lease_until"),
                condition=Compare("status", "=", "dead"),
            )
        except Conflict:
            return None
        return _delivery(item)

    def _record(self, owner: str, outcome: Outcome) -> Delivery:
        """Write an attempt's outcome, only while this worker still holds the claim (else Conflict)."""
        u = _recording(outcome, _held_by(owner))
        item = self.backend.update(DELIVERIES, u.key, set_values=u.set_values, remove=u.remove, condition=u.condition)
        return _delivery(item)


class JiraLedgerRepository:
    """Implements outputs.base.JiraIssueLedger over the state store."""

    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    @staticmethod
    def _key(integration_key: str, dedup_key: str) -> dict[str, str]:
        return {"ledger_key": f"{integration_key}#{dedup_key}"}

    def issue_for(self, integration_key: str, dedup_key: str) -> str | None:
        item = self.backend.get(JIRA_ISSUES, self._key(integration_key, dedup_key))
        return None if item is None else str(item["issue_key"])

    def remember(self, integration_key: str, dedup_key: str, issue_key: str) -> None:
        self.backend.put(JIRA_ISSUES, self._key(integration_key, dedup_key) | {"issue_key": issue_key})

    def forget(self, integration_key: str, dedup_key: str) -> None:
        self.backend.delete(JIRA_ISSUES, self._key(integration_key, dedup_key))
