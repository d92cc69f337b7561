"""Alerts and their dedup records.

`record_firing` is the only way an alert is created: it either opens a new alert (and claims
the dedup key for the suppression window with a conditional write) or folds the firing into
the alert that already holds the key, so two workers never open two alerts for one key. A
closed alert (resolved or false positive) takes no more folds: the next firing of its key
opens a new alert, so nothing an analyst closed is silently counted again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from mantissa_log.clock import iso_us, parse_iso
from mantissa_log.domain.alerts import (
    ACTIVE_STATUSES,
    MAX_TRIAGE_HISTORY,
    Alert,
    AlertStatus,
    TriageEntry,
    compact_time,
)
from mantissa_log.domain.common import Severity
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import Compare, Condition, NotExists, all_of, any_of
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import ALERT_DEDUP, ALERTS, DELIVERY_STATUS_INDEX
from mantissa_log.state.views import ItemViews, ViewPage

V = TypeVar("V")

# Fields older versions stored that the model no longer has: dropped on read, not refused.
_RETIRED_FIELDS = ("routed",)


def _alert(item: Mapping[str, Any]) -> Alert:
    if any(map(item.__contains__, _RETIRED_FIELDS)):  # rare: copy only then (lists read many)
        item = {k: v for k, v in item.items() if k not in _RETIRED_FIELDS}
    return Alert.model_validate(item)


def alert_views(make: Callable[[Alert], V]) -> ItemViews[V]:
    """Views of stored alerts for `list_alert_views`: `make` is given each alert as `list_alerts` reads it."""
    return ItemViews(lambda item: make(_alert(item)))


@dataclass(frozen=True)
class AlertFilter:
    severity: Severity | None = None
    rule_name: str | None = None
    since: str | None = None  # ISO 8601: alerts opened at or after this (their first window ended then or later)
    statuses: tuple[AlertStatus, ...] = ()  # any of these triage statuses (empty: every status)

    def condition(self) -> Condition | None:
        parts: list[Condition] = []
        if self.severity is not None:
            parts.append(Compare("severity", "=", self.severity))
        if self.rule_name is not None:
            parts.append(Compare("rule_name", "=", self.rule_name))
        if self.statuses:
            parts.append(status_in(self.statuses))
        return all_of(*parts) if parts else None

    def first_id(self) -> str | None:
        """The smallest alert id that can qualify (ids start with the end of their first window)."""
        return None if self.since is None else compact_time(iso_us(parse_iso(self.since)))


@dataclass
class Firing:
    """What one run found for one rule (and group): the alert it would open, and how to fold it."""

    alert: Alert  # its alert_id is derived from the run (`alert_id_for`) and doubles as the firing's id
    suppression_seconds: int
    # What a fold adds to an open alert's match_count: the run's new matches (events the
    # open alert has not counted yet), not those of the lookback part.
    new_matches: int = 0


FiringOutcome = Literal["created", "folded", "repeated"]


def status_in(statuses: tuple[AlertStatus, ...]) -> Condition:
    """The alert's triage status is one of `statuses` (alerts stored before triage existed are open)."""
    options: list[Condition] = [Compare("status", "=", status) for status in statuses]
    if "open" in statuses:
        options.append(NotExists("status"))
    return any_of(*options)


class AlertRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def record_firing(self, firing: Firing, now: int) -> tuple[Alert, FiringOutcome]:
        """Store a new alert, or fold into the open one (`now`: epoch seconds).

        Outcomes: `created`; `folded` into the alert holding the dedup key; `repeated` when this very
        firing (same run, same group) was recorded before, e.g. by a worker killed mid-run.

        With suppression, the dedup claim names the alert id every firing of the key writes to. The
        alert itself is written with a conditional put on that id, so of two firings racing on one
        key exactly one creates it and the other folds into it, however their steps interleave (a
        firing that finds the claim but not yet its alert writes the alert itself, under the claimed
        id; the claimer's own write then fails and folds). Folds are conditional on the alert's
        `last_firing`, so a repeated firing never counts its events twice, and on its triage status
        being open or acknowledged. A firing that finds the key's alert closed moves the claim to its
        own id with a conditional write naming the closed alert, so of several such firings one
        opens the new alert and the others fold into it.
        """
        firing_id = firing.alert.alert_id
        alert = firing.alert.model_copy(update={"last_firing": firing_id})
        claim: dict[str, Any] = {
            "dedup_key": alert.dedup_key,
            "user_id": alert.user_id,
            "alert_id": firing_id,
            "ttl": now + firing.suppression_seconds,
        }
        for _ in range(10):
            target_id = firing_id
            if firing.suppression_seconds > 0:
                try:
                    self.backend.put(
                        ALERT_DEDUP, claim, condition=any_of(NotExists("dedup_key"), Compare("ttl", "<=", now))
                    )
                except Conflict:
                    held = self.backend.get(ALERT_DEDUP, {"dedup_key": alert.dedup_key})
                    if held is None:
                        continue  # expired between the two reads: claim again
                    target_id = str(held["alert_id"])
            target = alert.model_copy(update={"alert_id": target_id})
            try:
                self.backend.put(ALERTS, target.dump(), condition=NotExists("alert_id"))
            except Conflict:
                outcome = self._fold(target.user_id, target_id, firing)
                if outcome == "closed":
                    # The key's alert was closed by an analyst: move the claim to this firing's own
                    # id (only if it still names the closed alert; a racing firing may have moved it
                    # first, and then this one folds into that firing's new alert on the next pass).
                    self._reclaim(claim, held_by=target_id)
                    continue
                if outcome is not None:
                    return outcome
                continue  # deleted between the two writes: start over
            return target, "created"
        raise Conflict("could not record the alert: dedup key contended")

    def _reclaim(self, claim: dict[str, Any], *, held_by: str) -> None:
        # Refused when another firing moved (or an expiry removed) the claim: the next pass reads it.
        with contextlib.suppress(Conflict):
            self.backend.put(ALERT_DEDUP, claim, condition=Compare("alert_id", "=", held_by))

    def _fold(
        self, user_id: str, alert_id: str, firing: Firing
    ) -> tuple[Alert, FiringOutcome] | Literal["closed"] | None:
        """Fold a firing into an existing open alert; "closed" when that alert is closed, None when it is gone."""
        firing_id = firing.alert.alert_id
        try:
            item = self.backend.update(
                ALERTS,
                {"user_id": user_id, "alert_id": alert_id},
                add_values={"occurrences": 1, "match_count": firing.new_matches},
                set_values={
                    "last_seen": firing.alert.last_seen,
                    "window_end": firing.alert.window_end,
                    "last_firing": firing_id,
                },
                condition=all_of(
                    Compare("alert_id", "=", alert_id),
                    any_of(NotExists("last_firing"), Compare("last_firing", "<>", firing_id)),
                    status_in(ACTIVE_STATUSES),
                ),
            )
        except Conflict:
            existing = self.get_alert(user_id, alert_id)
            if existing is None:
                return None
            if existing.last_firing == firing_id or alert_id == firing_id:
                # This very firing was recorded before (a repeated run): never counted twice, and
                # never re-opened as a new alert even if the analyst closed it meanwhile.
                return existing, "repeated"
            return "closed" if existing.closed else None
        return _alert(item), "folded"

    def set_status(self, alert: Alert, entry: TriageEntry) -> Alert:
        """Record a triage change, conditional on the alert not having changed status since it was read.

        Raises Conflict when another change got in first (the caller reads again and decides).
        """
        history = [e.dump() for e in alert.triage[-(MAX_TRIAGE_HISTORY - 1) :]] + [entry.dump()]
        values: dict[str, Any] = {
            "status": entry.status,
            "status_by": entry.by,
            "status_at": entry.at,
            "triage": history,
            "triage_version": alert.triage_version + 1,
        }
        unchanged: Condition = Compare("triage_version", "=", alert.triage_version)
        if alert.triage_version == 0:  # alerts stored before triage existed carry no version
            unchanged = any_of(NotExists("triage_version"), unchanged)
        item = self.backend.update(
            ALERTS,
            {"user_id": alert.user_id, "alert_id": alert.alert_id},
            set_values=values | ({"status_note": entry.note} if entry.note else {}),
            remove=() if entry.note else ("status_note",),
            condition=all_of(Compare("alert_id", "=", alert.alert_id), unchanged),
        )
        return _alert(item)

    def set_delivery_state(self, user_id: str, alert_id: str, *, status: str) -> None:
        values: dict[str, Any] = {"delivery_status": status}
        self.backend.update(
            ALERTS,
            {"user_id": user_id, "alert_id": alert_id},
            set_values=values,
            condition=Compare("alert_id", "=", alert_id),
        )

    def set_delivery_states(self, states: Sequence[tuple[str, str, str]]) -> None:
        """`set_delivery_state` for many (user_id, alert_id, status) at once; a deleted alert is skipped."""
        self.backend.set_existing(
            ALERTS,
            [
                ({"user_id": user_id, "alert_id": alert_id}, {"delivery_status": status})
                for user_id, alert_id, status in states
            ],
        )

    def get_alerts(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Alert]:
        """Many alerts by (user_id, alert_id) in one batch read; absent ones are left out."""
        items = self.backend.batch_get(ALERTS, [{"user_id": u, "alert_id": a} for u, a in dict.fromkeys(keys)])
        return {(str(i["user_id"]), str(i["alert_id"])): _alert(i) for i in items}

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

    def list_alert_views(
        self,
        user_id: str,
        views: ItemViews[V],
        wanted: AlertFilter | None = None,
        *,
        limit: int = 50,
        start_key: Key | None = None,
    ) -> ViewPage[V]:
        """`list_alerts`, each alert as `views` (made by `alert_views`) gives it."""
        wanted = wanted or AlertFilter()
        return self.backend.query_views(
            ALERTS,
            user_id,
            views,
            limit=limit,
            start_key=start_key,
            descending=True,
            range_from=wanted.first_id(),
            filter=wanted.condition(),
        )

    def with_delivery_status(
        self, status: str, *, user_id: str | None = None, limit: int = 100, start_key: Key | None = None
    ) -> ModelPage[Alert]:
        """Alerts in one delivery state (oldest first), across users or of one user: "routing" for
        the router, "dead"/"partial" for redelivery."""
        only = None if user_id is None else Compare("user_id", "=", user_id)
        page = self.backend.query(
            ALERTS, status, index=DELIVERY_STATUS_INDEX, limit=limit, start_key=start_key, filter=only
        )
        return ModelPage([_alert(i) for i in page.items], page.next_key)
