"""Dependencies: the service container, the caller and what their role allows, paging.

Authentication happens before the route, in the edge (`api/edge.py`), which leaves the principal
in the request state. Here each route says which roles may call it:

| dependency     | roles                   | routes                                        |
|----------------|-------------------------|-----------------------------------------------|
| `AnyCaller`    | admin, analyst, ingest  | `GET /api/v1/me`, `/openapi.json`             |
| `CurrentUser`  | admin, analyst          | every user route (settings, rules, alerts...) |
| `AdminUser`    | admin                   | `/api/v1/admin/...`                           |
| `IngestCaller` | ingest                  | `POST /api/v1/ingest/{source}`                |

The checks are `async def` because they never block: FastAPI runs a plain `def` dependency in a
worker thread, one hop per dependency per request, costlier than the check itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from mantissa_log.errors import Forbidden, InvalidCursor, Unauthenticated
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def any_caller(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthenticated("send `Authorization: Bearer <token>`")
    return principal


AnyCaller = Annotated[Principal, Depends(any_caller)]


async def current_user(caller: AnyCaller) -> Principal:
    if caller.role == "ingest":
        raise Forbidden("this token can only ingest events")
    return caller


CurrentUser = Annotated[Principal, Depends(current_user)]


async def admin_user(user: CurrentUser) -> Principal:
    if not user.is_admin:
        raise Forbidden("admin only")
    return user


AdminUser = Annotated[Principal, Depends(admin_user)]


async def ingest_caller(caller: AnyCaller) -> Principal:
    if caller.role != "ingest":
        raise Forbidden("ingesting events needs an ingest token (`mantissa-log users token NAME --ingest`)")
    return caller


IngestCaller = Annotated[Principal, Depends(ingest_caller)]


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, owner: str | None = None) -> dict[str, Any] | None:
    """The key a previous page ended on, as far as its form goes.

    The state store then takes it only if it is a key that very query could have returned (table
    and index key, types, partition, range); a cursor naming another user's partition is refused.
    """
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value: Any = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # ValueError: bad JSON, UTF-8, or 4,300+ digits
        raise InvalidCursor() from None
    if not isinstance(value, dict) or (owner is not None and value.get("user_id", owner) != owner):
        raise InvalidCursor()
    return value


Limit = Annotated[int, Query(ge=1, le=200, description="page size")]
Cursor = Annotated[str | None, Query(alias="next", max_length=4096, description="cursor from the previous page")]
