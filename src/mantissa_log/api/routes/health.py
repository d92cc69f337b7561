"""Liveness (no auth) and the caller's identity."""

from __future__ import annotations

from fastapi import APIRouter

from mantissa_log import __version__
from mantissa_log.api.deps import CurrentUser

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/api/v1/me", tags=["identity"])
def me(user: CurrentUser) -> dict[str, object]:
    return {"user_id": user.user_id, "is_admin": user.is_admin}
