"""Admin-only, cross-user views: the scheduler's index queries and the audit chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from mantissa_log.api.deps import AdminUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.domain.common import IntegrationType, Severity

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/rules/enabled")
def enabled_rules(
    _: AdminUser,
    services: ServicesDep,
    severity: Severity | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    start = decode_cursor(cursor)
    if severity is None:
        page = services.rules.list_enabled_rules(limit=limit, start_key=start)
    else:
        page = services.rules.list_enabled_rules_by_severity(severity, limit=limit, start_key=start)
    return {"items": [r.dump() for r in page.items], "next": encode_cursor(page.next_key)}


@router.get("/integrations")
def integrations_by_type(
    _: AdminUser,
    services: ServicesDep,
    integration_type: IntegrationType = Query(alias="type"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = services.integrations.list_by_type(integration_type, limit=limit, start_key=decode_cursor(cursor))
    return {"items": [i.dump() for i in page.items], "next": encode_cursor(page.next_key)}


@router.get("/audit")
def audit_log(
    _: AdminUser,
    services: ServicesDep,
    actor: str | None = Query(default=None, max_length=128),
    action: str | None = Query(default=None, max_length=128),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = services.audit.newest(limit=limit, start_key=decode_cursor(cursor), actor=actor, action=action)
    return {
        "items": [r.dump() for r in page.items],
        "next": encode_cursor(page.next_key),
        "verification": services.audit.verify().dump(),
    }
