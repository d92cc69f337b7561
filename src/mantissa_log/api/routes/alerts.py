"""Alerts of the caller, newest first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from mantissa_log.api.deps import CurrentUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.domain.common import Name, Severity
from mantissa_log.errors import NotFound

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get("")
def list_alerts(
    user: CurrentUser,
    services: ServicesDep,
    severity: Severity | None = None,
    rule_name: Name | None = None,
    since: str | None = Query(default=None, pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = services.alerts.list_alerts(user.user_id, limit=limit, start_key=decode_cursor(cursor, user.user_id))
    items = [
        a
        for a in page.items
        if (severity is None or a.severity == severity)
        and (rule_name is None or a.rule_name == rule_name)
        and (since is None or a.created_at >= since)
    ]
    return {"items": [a.dump() for a in items], "next": encode_cursor(page.next_key)}


@router.get("/{alert_id}")
def get_alert(alert_id: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    alert = services.alerts.get_alert(user.user_id, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}", field="alert_id")
    deliveries = services.deliveries.for_alert(user.user_id, alert_id)
    shown = (
        "integration_id",
        "integration_type",
        "status",
        "attempts",
        "max_attempts",
        "last_error",
        "last_status_code",
        "reference",
        "delivered_at",
        "updated_at",
    )
    return alert.dump() | {"deliveries": [{k: v for k, v in d.dump().items() if k in shown} for d in deliveries]}
