"""`/alerts` (filtered, paged by the user's items_per_page) and `/alerts/{id}`: triage and redelivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Response

from mantissa_log.clock import iso
from mantissa_log.domain.alerts import ACTIVE_STATUSES, ALERT_STATUSES, TRANSITIONS, AlertStatus
from mantissa_log.domain.common import Severity
from mantissa_log.errors import MantissaError, ValidationFailed
from mantissa_log.web.context import CurrentView
from mantissa_log.web.forms import safe_next
from mantissa_log.web.paging import decode_cursor, paging
from mantissa_log.web.route import WebRoute
from mantissa_log.web.samples import sample_table

router = APIRouter(route_class=WebRoute, include_in_schema=False)

StatusFilter = Literal["active", "open", "acknowledged", "resolved", "false_positive", "all"]
RangeFilter = Literal["1h", "24h", "7d", "30d", "all"]
SPANS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
RANGE_LABELS = {
    "1h": "Last hour",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "all": "All time",
}
STATUS_FILTERS = {
    "all": "Any status",
    "active": "Open or acknowledged",
    "open": "Open",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "false_positive": "False positive",
}
# The buttons an alert offers in each status, in the order shown.
ACTIONS: dict[str, list[tuple[AlertStatus, str]]] = {
    status: [
        (
            t,
            {
                "open": "Reopen",
                "acknowledged": "Acknowledge",
                "resolved": "Resolve",
                "false_positive": "False positive",
            }[t],
        )
        for t in targets
    ]
    for status, targets in TRANSITIONS.items()
}


def _rule_names(view: CurrentView) -> list[str]:
    names: list[str] = []
    start = None
    while True:
        page = view.services.rules.list(view.who, limit=200, start_key=start)
        names += [r.rule_name for r in page.items]
        if page.next_key is None:
            return sorted(names)
        start = page.next_key


@router.get("/alerts", name="web.alert.list")
def list_alerts(
    view: CurrentView,
    severity: Severity | None = None,
    rule: str | None = None,
    status: StatusFilter = "all",
    range: RangeFilter | None = None,
    next: str | None = None,
    trail: str | None = None,
) -> Response:
    range_key = range or view.prefs.default_time_range
    statuses: tuple[AlertStatus, ...] = ACTIVE_STATUSES if status == "active" else () if status == "all" else (status,)
    since = None if range_key == "all" else iso(view.now - SPANS[range_key])
    page = view.services.alerts.list(
        view.who,
        severity=severity,
        rule_name=rule or None,
        since=since,
        statuses=statuses,
        limit=view.prefs.items_per_page,
        start_key=decode_cursor(next, view.who.user_id),
    )
    params = {
        "severity": severity or "",
        "rule": rule or "",
        "status": status if status != "all" else "",
        "range": range_key,
    }
    return view.render(
        "alerts.html",
        alerts=page.items,
        paging=paging("/alerts", params, next, trail, page.next_key),
        filters={"severity": severity or "", "rule": rule or "", "status": status, "range": range_key},
        filtered=bool(severity or rule or status != "all"),
        rule_names=_rule_names(view),
        ranges=RANGE_LABELS,
        status_filters=STATUS_FILTERS,
    )


@dataclass(frozen=True)
class RuleGuide:
    """What the rule's author wrote for whoever triages its alerts."""

    description: str
    false_positives: list[str]
    tags: list[str]


def _guide(view: CurrentView, rule_name: str) -> RuleGuide | None:
    try:
        found = view.services.rules.get(view.who, rule_name)
    except MantissaError:
        return None  # the rule was deleted (or no longer compiles): the alert stands on its own
    if found.validated is None:
        return None
    main = found.validated.document.main

    def listed(key: str) -> list[str]:
        value = main.get(key)
        return [str(v) for v in value if v is not None] if isinstance(value, list) else []

    return RuleGuide(str(main.get("description") or "").strip(), listed("falsepositives"), listed("tags"))


@router.get("/alerts/{alert_id}", name="web.alert.read")
def alert_detail(view: CurrentView, alert_id: str) -> Response:
    detail = view.services.alerts.get(view.who, alert_id)
    return view.render(
        "alert.html",
        a=detail.alert,
        guide=_guide(view, detail.alert.rule_name),
        deliveries=detail.deliveries,
        samples=sample_table(detail.alert.samples),
        actions=ACTIONS[detail.alert.status],
        dead=[d for d in detail.deliveries if d.status == "dead"],
    )


@router.post("/alerts/{alert_id}/status", name="web.alert.status")
def set_status(view: CurrentView, alert_id: str) -> Response:
    wanted = view.form.get("status")
    if wanted not in ALERT_STATUSES:
        raise ValidationFailed("pick a status", field="status")
    target = safe_next(view.form.get("next"), f"/alerts/{alert_id}")
    try:
        alert = view.services.alerts.set_status(view.who, alert_id, wanted, view.form.get("note") or None)
    except MantissaError as exc:
        if exc.code == "not_found":
            raise
        return view.redirect(target, "error", view.failed(exc))
    return view.redirect(target, "success", f"Alert marked {alert.status.replace('_', ' ')}.")


@router.post("/alerts/bulk-status", name="web.alert.bulk_status")
def bulk_status(view: CurrentView) -> Response:
    wanted = view.form.get("status")
    if wanted not in ALERT_STATUSES:
        raise ValidationFailed("pick a status", field="status")
    ids = view.form.getlist("alert_id")[:500]
    done, failed = 0, 0
    for alert_id in ids:
        try:
            view.services.alerts.set_status(view.who, alert_id, wanted, view.form.get("note") or None)
            done += 1
        except MantissaError:
            failed += 1
    target = safe_next(view.form.get("next"), "/alerts")
    if not ids:
        return view.redirect(target, "error", "Select alerts first (the boxes at the start of each row).")
    text = f"{done} alert{'s' if done != 1 else ''} marked {wanted.replace('_', ' ')}."
    if failed:
        text += f" {failed} left as they were (already in that status, or changed meanwhile)."
    return view.redirect(target, "success" if done else "error", text)


@router.post("/alerts/{alert_id}/redeliver", name="web.alert.redeliver")
def redeliver(view: CurrentView, alert_id: str) -> Response:
    integration_id = view.form.get("integration_id") or None
    try:
        done = view.services.delivery.redeliver(view.who, alert_id, integration_id)
    except MantissaError as exc:
        if exc.code == "not_found" and integration_id is None:
            raise
        return view.redirect(f"/alerts/{alert_id}", "error", view.failed(exc))
    if not done.count:
        return view.redirect(f"/alerts/{alert_id}", "info", "Nothing to redeliver: no delivery of this alert is dead.")
    return view.redirect(
        f"/alerts/{alert_id}", "success", f"{done.count} dead deliver{'y' if done.count == 1 else 'ies'} queued again."
    )
