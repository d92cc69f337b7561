"""Who is calling: the authenticated principal every use case is scoped to."""

from __future__ import annotations

from dataclasses import dataclass

from mantissa_log.domain.users import Role


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: Role = "analyst"
    client: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
