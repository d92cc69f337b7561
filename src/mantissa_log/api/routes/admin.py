"""Admin-only, cross-user views: the scheduler's index queries and the audit chain."""

from __future__ import annotations

from fastapi import APIRouter, Query

from mantissa_log.api.deps import AdminUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.api.schemas.common import Page
from mantissa_log.api.schemas.misc import AuditPage
from mantissa_log.api.schemas.rules import RulePublic
from mantissa_log.domain.common import IntegrationType, Severity
from mantissa_log.domain.integrations import Integration

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/rules/enabled", name="admin.rules.enabled", response_model_exclude_none=True)
def enabled_rules(
    _: AdminUser,
    services: ServicesDep,
    severity: Severity | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[RulePublic]:
    page = services.admin.enabled_rules(severity, limit=limit, start_key=decode_cursor(cursor))
    return Page[RulePublic](items=[RulePublic.of(r) for r in page.items], next=encode_cursor(page.next_key))


@router.get("/integrations", name="admin.integrations.by_type", response_model_exclude_none=True)
def integrations_by_type(
    _: AdminUser,
    services: ServicesDep,
    integration_type: IntegrationType = Query(alias="type"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Integration]:
    page = services.admin.integrations_by_type(integration_type, limit=limit, start_key=decode_cursor(cursor))
    return Page[Integration](items=page.items, next=encode_cursor(page.next_key))


@router.get("/audit", name="admin.audit.read", response_model_exclude_none=True)
def audit_log(
    _: AdminUser,
    services: ServicesDep,
    actor: str | None = Query(default=None, max_length=128),
    action: str | None = Query(default=None, max_length=128),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AuditPage:
    page = services.audit.newest(limit=limit, start_key=decode_cursor(cursor), actor=actor, action=action)
    # From the last verified checkpoint, not the whole chain on every call (`audit verify` does that).
    verdict = services.audit.verify(full=False)
    return AuditPage(items=page.items, next=encode_cursor(page.next_key), verification=verdict)
