"""The delivery outbox and the Jira issue ledger.

A worker takes a delivery only by a conditional write (still pending, no live lease), sends,
then records the outcome under the same lease. A worker killed between "sent" and "recorded"
leaves the lease to expire; the delivery is then sent again (at-least-once, never marked
delivered unless the receiver accepted it).
"""

from __future__ import annotations

from typing import Any

from mantissa_log.domain.alerts import Delivery, alert_key
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import Compare, NotExists, all_of, any_of
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import DELIVERIES, DUE_DELIVERIES_INDEX, JIRA_ISSUES


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
        return [Delivery.model_validate(i) for i in self.backend.query_all(DELIVERIES, alert_key(user_id, alert_id))]

    def due(self, now_key: str, *, limit: int = 100, start_key: Key | None = None) -> ModelPage[Delivery]:
        """Pending deliveries whose time has come, oldest first (the index is ordered by due_at)."""
        page = self.backend.query(DELIVERIES, "due", index=DUE_DELIVERIES_INDEX, limit=limit, start_key=start_key)
        items = [Delivery.model_validate(i) for i in page.items]
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
        return Delivery.model_validate(item)

    def finish(self, delivery: Delivery, owner: str, changes: dict[str, Any], remove: tuple[str, ...] = ()) -> Delivery:
        """Record an attempt's outcome, only while this worker still holds the claim."""
        item = self.backend.update(
            DELIVERIES,
            {"alert_key": delivery.alert_key, "integration_id": delivery.integration_id},
            set_values=changes,
            remove=("lease_owner", "lease_until", *remove),
            condition=Compare("lease_owner", "=", owner),
        )
        return Delivery.model_validate(item)


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
