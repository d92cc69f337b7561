"""Shapes shared by many routes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, TypeAdapter, model_serializer
from starlette.responses import Response

from mantissa_log.domain.users import Role

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next` back as `?next=` for the following page (null on the last)."""

    items: list[T]
    next: str | None = Field(default=None, description="cursor of the next page")

    @model_serializer(mode="wrap")
    def _always_next(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Routes drop null fields of items; `next: null` must stay, it says "last page".
        data: dict[str, Any] = handler(self)
        data.setdefault("next", self.next)
        return data


@cache
def _list_adapter(item_type: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[item_type])  # type: ignore[valid-type]


def page_response(item_type: type[BaseModel], items: Sequence[BaseModel], next_cursor: str | None) -> Response:
    """A `Page` as the route's declared `response_model=Page[X]` with null fields of items dropped
    would answer it, serialised once: the items straight to JSON bytes.

    For hot lists. A route returning `Page[X]` goes through the wrap serializer above, which builds
    every item as Python data before encoding it, and costs about twice as much.
    """
    body = b"".join(
        (
            b'{"items":',
            _list_adapter(item_type).dump_json(list(items), exclude_none=True),
            b',"next":',
            json.dumps(next_cursor).encode(),
            b"}",
        )
    )
    return Response(body, media_type="application/json")


def page_json_response(items: Sequence[bytes], next_cursor: str | None) -> Response:
    """`page_response` for items already serialised (each as `page_response` would write it)."""
    body = b"".join((b'{"items":[', b",".join(items), b'],"next":', json.dumps(next_cursor).encode(), b"}"))
    return Response(body, media_type="application/json")


class Health(BaseModel):
    status: str
    version: str


class Me(BaseModel):
    user_id: str
    is_admin: bool
    role: Role = Field(description="admin, analyst, or ingest (a token that can only ingest events)")
