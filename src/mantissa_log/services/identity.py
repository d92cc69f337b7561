"""Who is calling: the authenticated principal every use case is scoped to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    user_id: str
    is_admin: bool = False
    client: str | None = None
