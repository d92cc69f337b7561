"""Shapes shared by many routes."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

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


class Health(BaseModel):
    status: str
    version: str


class Me(BaseModel):
    user_id: str
    is_admin: bool
    role: Role = Field(description="admin, analyst, or ingest (a token that can only ingest events)")
