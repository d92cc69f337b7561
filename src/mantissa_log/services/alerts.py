"""Alert use cases: a user's alerts (filtered in the query, newest first, samples previewed), one
alert's deliveries, triage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import TypeAdapter

from mantissa_log.clock import Clock, iso
from mantissa_log.domain.alert_size import preview
from mantissa_log.domain.alerts import MAX_NOTE, TRANSITIONS, Alert, AlertStatus, Delivery, TriageEntry
from mantissa_log.domain.common import Severity
from mantissa_log.errors import Conflict, NotFound, ValidationFailed
from mantissa_log.services.identity import Principal
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.alerts import AlertFilter, AlertRepository, alert_views
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.repositories.deliveries import DeliveryRepository

# Alert delivery states that mean "some destination gave up" (the outbox's summary, docs/DELIVERY.md).
UNDELIVERED = ("dead", "partial")


_ALERT = TypeAdapter(Alert)


def listed_json(alert: Alert) -> bytes:
    """An alert as the API's list shows it: samples previewed, null fields left out, JSON bytes."""
    return _ALERT.dump_json(preview(alert), exclude_none=True)


@dataclass(frozen=True)
class AlertDetail:
    alert: Alert
    deliveries: list[Delivery]


class AlertService:
    def __init__(self, alerts: AlertRepository, deliveries: DeliveryRepository, clock: Clock) -> None:
        self.alerts = alerts
        self.deliveries = deliveries
        self.clock = clock
        # Remembered by each alert's stored text (`state/views.py`): a page of unchanged alerts is
        # a dict lookup per row instead of decoding, validating, previewing and encoding each.
        self._listed = alert_views(listed_json)

    def undelivered(self, who: Principal, *, limit: int = 20) -> list[Alert]:
        """The caller's alerts with a dead delivery (all dead, or some), newest first."""
        found = [
            alert
            for status in UNDELIVERED
            for alert in self.alerts.with_delivery_status(status, user_id=who.user_id, limit=200).items
        ]
        return sorted(found, key=lambda a: a.alert_id, reverse=True)[:limit]

    def list(
        self,
        who: Principal,
        *,
        severity: Severity | None = None,
        rule_name: str | None = None,
        since: str | None = None,
        statuses: tuple[AlertStatus, ...] = (),
        limit: int = 50,
        start_key: Key | None = None,
    ) -> ModelPage[Alert]:
        wanted = AlertFilter(severity=severity, rule_name=rule_name, since=since, statuses=statuses)
        page = self.alerts.list_alerts(who.user_id, wanted, limit=limit, start_key=start_key)
        # A page stays small: each alert's samples within a few KB (all of them: `get`).
        page.items = [preview(alert) for alert in page.items]
        return page

    def list_json(
        self,
        who: Principal,
        *,
        severity: Severity | None = None,
        rule_name: str | None = None,
        since: str | None = None,
        statuses: tuple[AlertStatus, ...] = (),
        limit: int = 50,
        start_key: Key | None = None,
    ) -> ModelPage[bytes]:
        """`list`, each alert as `listed_json` bytes (what the API answers): the same alerts and `next_key`."""
        wanted = AlertFilter(severity=severity, rule_name=rule_name, since=since, statuses=statuses)
        page = self.alerts.list_alert_views(who.user_id, self._listed, wanted, limit=limit, start_key=start_key)
        return ModelPage(page.items, page.next_key)

    def iter_since(self, who: Principal, since: str, *, cap: int = 5000) -> Iterator[Alert]:
        """Every alert of the caller opened since `since`, newest first, at most `cap` (charts)."""
        start: Key | None = None
        seen = 0
        while seen < cap:
            page = self.alerts.list_alerts(
                who.user_id, AlertFilter(since=since), limit=min(200, cap - seen), start_key=start
            )
            yield from page.items
            seen += len(page.items)
            if page.next_key is None:
                return
            start = page.next_key

    def get(self, who: Principal, alert_id: str) -> AlertDetail:
        alert = self._alert(who, alert_id)
        return AlertDetail(alert, self.deliveries.for_alert(who.user_id, alert_id))

    def _alert(self, who: Principal, alert_id: str) -> Alert:
        alert = self.alerts.get_alert(who.user_id, alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id}", field="alert_id")
        return alert

    def set_status(self, who: Principal, alert_id: str, status: AlertStatus, note: str | None = None) -> Alert:
        """Triage: move the alert to `status`, recording who, when and why.

        The write is conditional on the alert's triage version read here, so two analysts acting on
        one alert at once never overwrite each other: the second is told what happened instead.
        """
        if note is not None and len(note) > MAX_NOTE:
            raise ValidationFailed(f"at most {MAX_NOTE} characters", field="note")
        alert = self._alert(who, alert_id)
        if status == alert.status:
            raise Conflict(f"the alert is already {status.replace('_', ' ')}", field="status")
        if status not in TRANSITIONS[alert.status]:
            raise ValidationFailed(f"an alert that is {alert.status} cannot become {status}", field="status")
        entry = TriageEntry(
            status=status,
            previous=alert.status,
            by=who.user_id,
            at=iso(self.clock.now()),
            note=(note or "").strip() or None,
        )
        try:
            return self.alerts.set_status(alert, entry)
        except Conflict:
            now = self._alert(who, alert_id)
            by = f" by {now.status_by}" if now.status_by else ""
            raise Conflict(
                f"the alert was changed meanwhile{by}: it is now {now.status.replace('_', ' ')}", field="status"
            ) from None
