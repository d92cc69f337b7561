"""Alerts of the caller, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import Response

from mantissa_log.api.deps import CurrentUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.api.schemas.alerts import AlertWithDeliveries, RedeliveryResult, StatusChange
from mantissa_log.api.schemas.common import Page, page_json_response
from mantissa_log.domain.alerts import Alert, AlertStatus
from mantissa_log.domain.common import Name, Severity

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
ISO_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"


# Most calls of this route are answered by `api/direct.py` with the same service call: a change of
# its parameters, their checks or its answer must be made there too (tests/api/test_direct.py).
@router.get("", name="alert.list", response_model=Page[Alert], response_model_exclude_none=True)
def list_alerts(
    user: CurrentUser,
    services: ServicesDep,
    severity: Severity | None = None,
    rule_name: Name | None = None,
    since: str | None = Query(default=None, pattern=ISO_Z, description="alerts created at or after this time"),
    status: AlertStatus | None = Query(default=None, description="triage status"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    page = services.alerts.list_json(
        user,
        severity=severity,
        rule_name=rule_name,
        since=since,
        statuses=() if status is None else (status,),
        limit=limit,
        start_key=decode_cursor(cursor, user.user_id),
    )
    # The busiest read of the API: each alert's bytes as `Page[Alert]` would write them, remembered
    # by its stored text (`AlertService.list_json`), spliced into the page.
    return page_json_response(page.items, encode_cursor(page.next_key))


@router.get("/{alert_id}", name="alert.read", response_model_exclude_none=True)
def get_alert(alert_id: str, user: CurrentUser, services: ServicesDep) -> AlertWithDeliveries:
    return AlertWithDeliveries.of(services.alerts.get(user, alert_id))


@router.post("/{alert_id}/status", name="alert.status", response_model_exclude_none=True)
def set_status(alert_id: str, user: CurrentUser, services: ServicesDep, body: StatusChange) -> Alert:
    """Triage: `open` -> `acknowledged` -> `resolved` | `false_positive` (and back to `open`); who and when
    are recorded with the note. 409 when the alert already has that status or was changed meanwhile."""
    return services.alerts.set_status(user, alert_id, body.status, body.note)


@router.post("/{alert_id}/redeliver", name="alert.redeliver")
def redeliver_alert(alert_id: str, user: CurrentUser, services: ServicesDep) -> RedeliveryResult:
    """Send every dead delivery of this alert again (same delivery ids: receivers can drop repeats)."""
    return RedeliveryResult.of(services.delivery.redeliver(user, alert_id))


@router.post("/{alert_id}/deliveries/{integration_id}/redeliver", name="delivery.redeliver")
def redeliver_one(alert_id: str, integration_id: str, user: CurrentUser, services: ServicesDep) -> RedeliveryResult:
    """Send one dead delivery again."""
    return RedeliveryResult.of(services.delivery.redeliver(user, alert_id, integration_id))
