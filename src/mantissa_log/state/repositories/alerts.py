"""Alerts and their dedup records.

`record_firing` is the only way an alert is created: it either opens a new alert (and claims
the dedup key for the suppression window with a conditional write) or folds the firing into
the alert that already holds the key, so two workers never open two alerts for one key.
"""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass
from typing import Any

from mantissa_log.clock import iso_us, parse_iso
from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.common import Severity
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import Compare, Condition, NotExists, all_of, any_of
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import ALERT_DEDUP, ALERTS, DELIVERY_STATUS_INDEX


def _compact(timestamp: str) -> str:
    return timestamp.replace("-", "").replace(":", "").replace(".", "")


def new_alert_id(created_at: str) -> str:
    """`<creation time, µs, compact>-<random>`: ids sort by creation time."""
    return f"{_compact(created_at)}-{pysecrets.token_hex(4)}"


# Fields older versions stored that the model no longer has: dropped on read, not refused.
_RETIRED_FIELDS = ("routed",)


def _alert(item: dict[str, Any]) -> Alert:
    return Alert.model_validate({k: v for k, v in item.items() if k not in _RETIRED_FIELDS})


@dataclass(frozen=True)
class AlertFilter:
    severity: Severity | None = None
    rule_name: str | None = None
    since: str | None = None  # ISO 8601: alerts created at or after this

    def condition(self) -> Condition | None:
        parts: list[Condition] = []
        if self.severity is not None:
            parts.append(Compare("severity", "=", self.severity))
        if self.rule_name is not None:
            parts.append(Compare("rule_name", "=", self.rule_name))
        if self.since is not None:
            parts.append(Compare("created_at", ">=", self.since))
        return all_of(*parts) if parts else None

    def first_id(self) -> str | None:
        """The smallest alert id that can qualify (ids start with their creation time)."""
        return None if self.since is None else _compact(iso_us(parse_iso(self.since)))


@dataclass
class Firing:
    """What one run found for one rule (and group)."""

    alert: Alert
    suppression_seconds: int


class AlertRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def record_firing(self, firing: Firing, now: int) -> tuple[Alert, bool]:
        """Store a new alert, or fold into the open one (`now`: epoch seconds); returns (alert, created).

        With suppression, the dedup claim names the alert id every firing of the key writes to. The
        alert itself is written with a conditional put on that id, so of two firings racing on one
        key exactly one creates it and the other folds into it, however their steps interleave
        (a firing that finds the claim but not yet its alert writes the alert itself, under the
        claimed id; the claimer's own write then fails and folds).
        """
        alert = firing.alert
        for _ in range(10):
            target = alert
            if firing.suppression_seconds > 0:
                claim: dict[str, Any] = {
                    "dedup_key": alert.dedup_key,
                    "user_id": alert.user_id,
                    "alert_id": alert.alert_id,
                    "ttl": now + firing.suppression_seconds,
                }
                try:
                    self.backend.put(
                        ALERT_DEDUP, claim, condition=any_of(NotExists("dedup_key"), Compare("ttl", "<=", now))
                    )
                except Conflict:
                    held = self.backend.get(ALERT_DEDUP, {"dedup_key": alert.dedup_key})
                    if held is None:
                        continue  # expired between the two reads: claim again
                    target = alert.model_copy(update={"alert_id": str(held["alert_id"])})
            try:
                self.backend.put(ALERTS, target.dump(), condition=NotExists("alert_id"))
            except Conflict:
                folded = self._fold(target.user_id, target.alert_id, alert)
                if folded is not None:
                    return folded, False
                continue  # deleted between the two writes: start over
            return target, True
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
        return _alert(item)

    def set_delivery_state(self, user_id: str, alert_id: str, *, status: str) -> None:
        values: dict[str, Any] = {"delivery_status": status}
        self.backend.update(
            ALERTS,
            {"user_id": user_id, "alert_id": alert_id},
            set_values=values,
            condition=Compare("alert_id", "=", alert_id),
        )

    def get_alert(self, user_id: str, alert_id: str) -> Alert | None:
        item = self.backend.get(ALERTS, {"user_id": user_id, "alert_id": alert_id})
        return None if item is None else _alert(item)

    def list_alerts(
        self, user_id: str, wanted: AlertFilter | None = None, *, limit: int = 50, start_key: Key | None = None
    ) -> ModelPage[Alert]:
        """A user's alerts, newest first; filters apply in the query, so every page is full."""
        wanted = wanted or AlertFilter()
        page = self.backend.query(
            ALERTS,
            user_id,
            limit=limit,
            start_key=start_key,
            descending=True,
            range_from=wanted.first_id(),
            filter=wanted.condition(),
        )
        return ModelPage([_alert(i) for i in page.items], page.next_key)

    def with_delivery_status(self, status: str, *, limit: int = 100, start_key: Key | None = None) -> ModelPage[Alert]:
        """Alerts in one delivery state (oldest first), across users: "routing" for the router."""
        page = self.backend.query(ALERTS, status, index=DELIVERY_STATUS_INDEX, limit=limit, start_key=start_key)
        return ModelPage([_alert(i) for i in page.items], page.next_key)
