"""The delivery outbox and the Jira issue ledger.

A worker takes a delivery only by a conditional write (still pending, no live lease), sends,
then records the outcome under the same lease. A worker killed between "sent" and "recorded"
leaves the lease to expire; the delivery is then sent again (at-least-once, never marked
delivered unless the receiver accepted it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mantissa_log.clock import epoch, iso
from mantissa_log.domain.alerts import Delivery, FinalDeliveryState, alert_key, due_at
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import Compare, NotExists, all_of, any_of
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import DELIVERIES, DUE_DELIVERIES_INDEX, JIRA_ISSUES

# A receiver's answer can be long; the record keeps its start (enough to see what went wrong).
MAX_ERROR_CHARS = 1000


# Fields older versions stored that the model no longer has: dropped on read, not refused.
_RETIRED_FIELDS = ("max_attempts",)


def _delivery(item: dict[str, Any]) -> Delivery:
    data = {k: v for k, v in item.items() if k not in _RETIRED_FIELDS}
    # Records from before the age limit: give them one from now on reading.
    data.setdefault("expires_at", data.get("updated_at") or data.get("created_at"))
    return Delivery.model_validate(data)


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

    def due(self, now_key: str, *, limit: int = 100, start_key: Key | None = None) -> ModelPage[Delivery]:
        """Pending deliveries whose time has come, oldest first (the index is ordered by due_at)."""
        page = self.backend.query(DELIVERIES, "due", index=DUE_DELIVERIES_INDEX, limit=limit, start_key=start_key)
        items = [_delivery(i) for i in page.items]
        ready = [d for d in items if (d.due_at or "") <= now_key]
        more = page.next_key if len(ready) == len(items) else None
        return ModelPage(ready, more)

    def claim(self, delivery: Delivery, owner: str, now: float, lease_seconds: float) -> Delivery | None:
        try:
            item = self.backend.update(
                DELIVERIES,
                {"alert_key": delivery.alert_key, "integration_id": delivery.integration_id},
                set_values={"lease_owner": owner, "lease_until": now + lease_seconds},
                condition=all_of(
                    Compare("status", "=", "pending"),
                    any_of(NotExists("lease_owner"), Compare("lease_until", "<", now)),
                ),
            )
        except Conflict:
            return None
        return _delivery(item)

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
        """A failed attempt that will be tried again at `due`; its error and HTTP status (if the
        receiver answered at all) stay visible on the record meanwhile."""
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
        return self._record(delivery, owner, values, remove)

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
        """The delivery's final state; it leaves the due queue. `error` says why it is dead (or
        skipped); a delivered record drops the error of an earlier failed attempt."""
        values: dict[str, Any] = {"status": status, "updated_at": iso(now)}
        remove: tuple[str, ...] = ("queue", "due_at")
        if attempts is not None:
            values["attempts"] = attempts
        if status == "delivered":
            if error:
                raise ValueError("a delivered record has no error")
            values["delivered_at"] = iso(now)
            remove += ("last_error",)
        elif error:
            values["last_error"] = error[:MAX_ERROR_CHARS]
        if status_code is not None:
            values["last_status_code"] = status_code
        if reference:
            values["reference"] = reference
        return self._record(delivery, owner, values, remove)

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

    def _record(self, delivery: Delivery, owner: str, values: dict[str, Any], remove: tuple[str, ...]) -> Delivery:
        """Write an attempt's outcome, only while this worker still holds the claim."""
        item = self.backend.update(
            DELIVERIES,
            {"alert_key": delivery.alert_key, "integration_id": delivery.integration_id},
            set_values=values,
            remove=("lease_owner", "lease_until", *remove),
            condition=Compare("lease_owner", "=", owner),
        )
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
