"""Alerts and their dedup records.

`record_firing` is the only way an alert is created: it either opens a new alert (and claims
the dedup key for the suppression window with a conditional write) or folds the firing into
the alert that already holds the key, so two workers never open two alerts for one key.
"""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass
from typing import Any

from mantissa_log.clock import epoch_seconds
from mantissa_log.domain.alerts import Alert
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import Compare, NotExists, any_of
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import ALERT_DEDUP, ALERTS, DELIVERY_STATUS_INDEX


def new_alert_id(created_at: str) -> str:
    compact = created_at.replace("-", "").replace(":", "").replace(".", "")
    return f"{compact}-{pysecrets.token_hex(4)}"


@dataclass
class Firing:
    """What one run found for one rule (and group)."""

    alert: Alert
    suppression_seconds: int


class AlertRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def record_firing(self, firing: Firing) -> tuple[Alert, bool]:
        """Store a new alert, or fold into the open one; returns (alert, created)."""
        alert = firing.alert
        now = epoch_seconds()
        for _ in range(5):
            claim: dict[str, Any] = {
                "dedup_key": alert.dedup_key,
                "user_id": alert.user_id,
                "alert_id": alert.alert_id,
                "ttl": now + max(firing.suppression_seconds, 0),
            }
            if firing.suppression_seconds > 0:
                try:
                    self.backend.put(
                        ALERT_DEDUP, claim, condition=any_of(NotExists("dedup_key"), Compare("ttl", "<=", now))
                    )
                except Conflict:
                    held = self.backend.get(ALERT_DEDUP, {"dedup_key": alert.dedup_key})
                    if held is None:
                        continue  # expired between the two reads: try to claim again
                    folded = self._fold(held["user_id"], held["alert_id"], alert)
                    if folded is not None:
                        return folded, False
                    # The claimed alert is gone (deleted or restored away): take the claim over.
                    self.backend.put(ALERT_DEDUP, claim)
            self.backend.put(ALERTS, alert.dump(), condition=NotExists("alert_id"))
            return alert, True
        raise Conflict("could not record the alert: dedup key contended")

    def _fold(self, user_id: str, alert_id: str, repeat: Alert) -> Alert | None:
        try:
            item = self.backend.update(
                ALERTS,
                {"user_id": user_id, "alert_id": alert_id},
                add_values={"occurrences": 1, "match_count": repeat.match_count},
                set_values={"last_seen": repeat.last_seen, "window_end": repeat.window_end},
                condition=Compare("alert_id", "=", alert_id),
            )
        except Conflict:
            return None
        return Alert.model_validate(item)

    def set_delivery_state(self, user_id: str, alert_id: str, *, status: str, routed: bool | None = None) -> None:
        values: dict[str, Any] = {"delivery_status": status}
        if routed is not None:
            values["routed"] = routed
        self.backend.update(
            ALERTS,
            {"user_id": user_id, "alert_id": alert_id},
            set_values=values,
            condition=Compare("alert_id", "=", alert_id),
        )

    def get_alert(self, user_id: str, alert_id: str) -> Alert | None:
        item = self.backend.get(ALERTS, {"user_id": user_id, "alert_id": alert_id})
        return None if item is None else Alert.model_validate(item)

    def list_alerts(self, user_id: str, *, limit: int = 50, start_key: Key | None = None) -> ModelPage[Alert]:
        page = self.backend.query(ALERTS, user_id, limit=limit, start_key=start_key, descending=True)
        return ModelPage([Alert.model_validate(i) for i in page.items], page.next_key)

    def with_delivery_status(self, status: str, *, limit: int = 100, start_key: Key | None = None) -> ModelPage[Alert]:
        """Alerts in one delivery state (oldest first), across users: "routing" for the router."""
        page = self.backend.query(ALERTS, status, index=DELIVERY_STATUS_INDEX, limit=limit, start_key=start_key)
        return ModelPage([Alert.model_validate(i) for i in page.items], page.next_key)
