"""Integrations CRUD, scoped to the caller: another user's item is simply not found."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response

from mantissa_log.api.audit import note_outcome
from mantissa_log.api.deps import CurrentUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.api.schemas.alerts import RedeliveryResult
from mantissa_log.api.schemas.common import Page
from mantissa_log.api.schemas.misc import TestSendPublic
from mantissa_log.domain.common import IntegrationType
from mantissa_log.domain.integrations import Integration
from mantissa_log.domain.integrations.writes import IntegrationWrite

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


@router.get("", name="integration.list", response_model_exclude_none=True)
def list_integrations(
    user: CurrentUser,
    services: ServicesDep,
    integration_type: IntegrationType | None = Query(default=None, alias="type"),
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Integration]:
    page = services.integrations.list(
        user, integration_type=integration_type, limit=limit, start_key=decode_cursor(cursor, user.user_id)
    )
    return Page[Integration](items=page.items, next=encode_cursor(page.next_key))


@router.post("", status_code=201, name="integration.create", response_model_exclude_none=True)
def create_integration(user: CurrentUser, services: ServicesDep, body: IntegrationWrite) -> Integration:
    return services.integrations.create(user, body)


@router.get("/{integration_id}", name="integration.read", response_model_exclude_none=True)
def get_integration(integration_id: str, user: CurrentUser, services: ServicesDep) -> Integration:
    return services.integrations.get(user, integration_id)


@router.put("/{integration_id}", name="integration.replace", response_model_exclude_none=True)
def replace_integration(
    integration_id: str, user: CurrentUser, services: ServicesDep, body: IntegrationWrite
) -> Integration:
    return services.integrations.replace(user, integration_id, body)


@router.patch("/{integration_id}", name="integration.update", response_model_exclude_none=True)
def patch_integration(
    integration_id: str,
    user: CurrentUser,
    services: ServicesDep,
    patch: dict[str, Any] = Body(..., examples=[{"enabled": False}], description="JSON merge patch"),
) -> Integration:
    return services.integrations.patch(user, integration_id, patch)


@router.delete("/{integration_id}", status_code=204, name="integration.delete")
def delete_integration(integration_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    services.integrations.delete(user, integration_id)
    return Response(status_code=204)


@router.post(
    "/{integration_id}/test",
    name="integration.test",
    response_model=TestSendPublic,
    responses={429: {"description": "too many test sends; see Retry-After"}},
)
def test_integration(integration_id: str, request: Request, user: CurrentUser, services: ServicesDep) -> TestSendPublic:
    """Send a clearly marked test alert through the real transport; records the last_test fields.

    Limited per user (MANTISSA_TEST_SENDS_PER_MINUTE): past it, 429 with Retry-After.
    """
    result = services.delivery.test_integration(user, integration_id)  # RateLimited: 429 (api/errors.py)
    note_outcome(request, "success" if result.status == "success" else "failure")
    return TestSendPublic.of(result)


@router.post("/{integration_id}/redeliver", name="integration.redeliver")
def redeliver_integration(integration_id: str, user: CurrentUser, services: ServicesDep) -> RedeliveryResult:
    """Send every dead delivery to this integration again (e.g. after an outage or a fixed config)."""
    services.integrations.get(user, integration_id)  # 404 unless it is the caller's
    return RedeliveryResult.of(services.delivery.redeliver_integration(user, integration_id))
