"""GET/PUT/PATCH of the caller's user-settings item. The API key is write-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from mantissa_log.api.deps import CurrentUser, ServicesDep
from mantissa_log.domain.settings import UserSettings, UserSettingsPut

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


@router.get("", name="settings.read", response_model_exclude_none=True)
def get_settings(user: CurrentUser, services: ServicesDep) -> UserSettings:
    return services.settings.get(user)


@router.put("", name="settings.replace", response_model_exclude_none=True)
def put_settings(user: CurrentUser, services: ServicesDep, body: UserSettingsPut) -> UserSettings:
    return services.settings.put(user, body)


@router.patch("", name="settings.update", response_model_exclude_none=True)
def patch_settings(
    user: CurrentUser,
    services: ServicesDep,
    patch: dict[str, Any] = Body(..., examples=[{"preferences": {"temperature": 0.2}}], description="JSON merge patch"),
) -> UserSettings:
    return services.settings.patch(user, patch)
