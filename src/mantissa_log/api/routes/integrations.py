"""Integrations CRUD, scoped to the caller: another user's item is simply not found."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Response

from mantissa_log.api.deps import CurrentUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.domain.common import IntegrationType
from mantissa_log.domain.integrations import Integration
from mantissa_log.domain.integrations.writes import IntegrationWrite

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


def _public(integration: Integration) -> dict[str, Any]:
    return integration.dump()


@router.get("")
def list_integrations(
    user: CurrentUser,
    services: ServicesDep,
    integration_type: IntegrationType | None = Query(default=None, alias="type"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = services.integrations.list(
        user, integration_type=integration_type, limit=limit, start_key=decode_cursor(cursor, user.user_id)
    )
    return {"items": [_public(i) for i in page.items], "next": encode_cursor(page.next_key)}


@router.post("", status_code=201)
def create_integration(user: CurrentUser, services: ServicesDep, body: IntegrationWrite) -> dict[str, Any]:
    created = services.integrations.create(user, body)
    services.audit.record(
        actor=user.user_id, action="integration.create", target=created.integration_id, client=user.client
    )
    return _public(created)


@router.get("/{integration_id}")
def get_integration(integration_id: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    return _public(services.integrations.get(user, integration_id))


@router.put("/{integration_id}")
def replace_integration(
    integration_id: str, user: CurrentUser, services: ServicesDep, body: IntegrationWrite
) -> dict[str, Any]:
    saved = services.integrations.replace(user, integration_id, body)
    services.audit.record(actor=user.user_id, action="integration.replace", target=integration_id, client=user.client)
    return _public(saved)


@router.patch("/{integration_id}")
def patch_integration(
    integration_id: str,
    user: CurrentUser,
    services: ServicesDep,
    patch: dict[str, Any] = Body(..., examples=[{"enabled": False}], description="JSON merge patch"),
) -> dict[str, Any]:
    saved = services.integrations.patch(user, integration_id, patch)
    services.audit.record(actor=user.user_id, action="integration.update", target=integration_id, client=user.client)
    return _public(saved)


@router.delete("/{integration_id}", status_code=204)
def delete_integration(integration_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    services.integrations.delete(user, integration_id)
    services.audit.record(actor=user.user_id, action="integration.delete", target=integration_id, client=user.client)
    return Response(status_code=204)


@router.post("/{integration_id}/test")
def test_integration(integration_id: str, user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    """Send a clearly marked test alert through the real transport; records the last_test fields."""
    result = services.tester.send_test(user, integration_id)
    services.audit.record(
        actor=user.user_id,
        action="integration.test",
        target=integration_id,
        outcome="success" if result.status == "success" else "failure",
        client=user.client,
    )
    return result.public()
