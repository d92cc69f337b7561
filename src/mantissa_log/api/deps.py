"""Dependencies: the service container, the authenticated caller, admin-only guard, paging."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from mantissa_log.errors import Forbidden, Unauthenticated, ValidationFailed
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def current_user(request: Request, services: ServicesDep) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send `Authorization: Bearer <token>`")
    client = request.client.host if request.client else None
    principal = services.users.authenticate(token.strip(), client)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise Forbidden("admin only")
    return user


AdminUser = Annotated[Principal, Depends(admin_user)]


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, owner: str | None = None) -> dict[str, Any] | None:
    """The key a previous page ended on; a cursor naming another user's partition is refused."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value: Any = json.loads(raw)
    except (binascii.Error, ValueError):
        raise ValidationFailed("not a cursor returned by this API", field="next") from None
    if not isinstance(value, dict) or (owner is not None and value.get("user_id", owner) != owner):
        raise ValidationFailed("not a cursor returned by this API", field="next")
    return value


Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(alias="next", max_length=4096, description="cursor from the previous page")]
