"""Liveness (no auth) and the caller's identity."""

from __future__ import annotations

from fastapi import APIRouter

from mantissa_log import __version__
from mantissa_log.api.deps import CurrentUser
from mantissa_log.api.schemas.common import Health, Me

router = APIRouter()


@router.get("/healthz", tags=["health"], name="health")
def healthz() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/api/v1/me", tags=["identity"], name="me.read")
def me(user: CurrentUser) -> Me:
    return Me(user_id=user.user_id, is_admin=user.is_admin)
