"""Paging through cursors: `next` is the page's cursor, `trail` the cursors of the pages before it.

Cursors are opaque to the browser (base64 of the store's last key). One naming another user's
partition is refused, like the API's.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from mantissa_log.errors import ValidationFailed

MAX_TRAIL = 50


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if key is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, owner: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value: Any = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise ValidationFailed("not a page of this list", field="next") from None
    if not isinstance(value, dict) or (owner is not None and value.get("user_id", owner) != owner):
        raise ValidationFailed("not a page of this list", field="next")
    return value


@dataclass(frozen=True)
class Paging:
    number: int
    first_url: str | None
    previous_url: str | None
    next_url: str | None


def paging(path: str, params: dict[str, str], cursor: str | None, trail: str | None, next_key: Any) -> Paging:
    """Links to the newest, previous and next pages, keeping the list's filters (`params`)."""
    crumbs = [c for c in (trail or "").split(".") if c][-MAX_TRAIL:]
    kept = {k: v for k, v in params.items() if v}

    def link(page_cursor: str | None, page_trail: list[str]) -> str:
        query = dict(kept)
        if page_cursor:
            query["next"] = page_cursor
        if page_trail:
            query["trail"] = ".".join(page_trail)
        return f"{path}?{urlencode(query)}" if query else path

    following = encode_cursor(next_key)
    next_url = None if following is None else link(following, [*crumbs, cursor or "_"])
    previous_url = None
    if cursor:
        back = crumbs[-1] if crumbs else "_"
        previous_url = link(None if back == "_" else back, crumbs[:-1])
    return Paging(
        number=len(crumbs) + 1 if cursor else 1,
        first_url=link(None, []) if cursor and len(crumbs) > 1 else None,
        previous_url=previous_url,
        next_url=next_url,
    )
