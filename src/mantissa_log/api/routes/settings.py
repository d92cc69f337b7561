"""GET/PUT/PATCH of the caller's user-settings item. The API key is write-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from mantissa_log.api.deps import CurrentUser, ServicesDep
from mantissa_log.domain.settings import UserSettings, UserSettingsPut

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


def _public(settings: UserSettings) -> dict[str, Any]:
    return settings.dump()


@router.get("")
def get_settings(user: CurrentUser, services: ServicesDep) -> dict[str, Any]:
    return _public(services.user_settings.get(user))


@router.put("")
def put_settings(user: CurrentUser, services: ServicesDep, body: UserSettingsPut) -> dict[str, Any]:
    saved = services.user_settings.put(user, body)
    services.audit.record(actor=user.user_id, action="settings.replace", target=user.user_id, client=user.client)
    return _public(saved)


@router.patch("")
def patch_settings(
    user: CurrentUser,
    services: ServicesDep,
    patch: dict[str, Any] = Body(..., examples=[{"preferences": {"temperature": 0.2}}], description="JSON merge patch"),
) -> dict[str, Any]:
    saved = services.user_settings.patch(user, patch)
    services.audit.record(actor=user.user_id, action="settings.update", target=user.user_id, client=user.client)
    return _public(saved)
