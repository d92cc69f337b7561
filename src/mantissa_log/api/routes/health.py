"""Liveness (no auth), the caller's identity, and the API's own description (authenticated)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mantissa_log import __version__
from mantissa_log.api.deps import AnyCaller
from mantissa_log.api.schemas.common import Health, Me

router = APIRouter()


@router.get("/healthz", tags=["health"], name="health")
def healthz() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/api/v1/me", tags=["identity"], name="me.read")
def me(caller: AnyCaller) -> Me:
    return Me(user_id=caller.user_id, is_admin=caller.is_admin, role=caller.role)


@router.get("/openapi.json", include_in_schema=False, name="openapi.read")
def openapi(request: Request, _: AnyCaller) -> dict[str, Any]:
    """The OpenAPI document, for any valid token: it maps every route and names the version."""
    document: dict[str, Any] = request.app.openapi()
    return document
