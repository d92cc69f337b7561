"""Users and API tokens (tables added to the seed's three: the API needs identities).

Roles: a user is an `admin`, an `analyst` or an `ingest` service account (a log shipper's
identity). A token acts with its user's role, unless it is issued with the `ingest` scope: then it
can only ingest, whoever its user is. One deployment serves one organisation (docs/SECURITY.md).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from mantissa_log.domain.common import Name, StrictModel, Timestamp

Role = Literal["admin", "analyst", "ingest"]
ROLES: tuple[Role, ...] = ("admin", "analyst", "ingest")
TokenScope = Literal["user", "ingest"]


class User(StrictModel):
    user_id: Name
    role: Role = "analyst"
    # Derived from `role` and kept in the item, so items written before roles existed (they only
    # have `is_admin`) and readers that only know `is_admin` agree on who is an admin.
    is_admin: bool = False
    created_at: Timestamp

    @model_validator(mode="before")
    @classmethod
    def _role_and_is_admin_agree(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if "role" not in data:
                data["role"] = "admin" if data.get("is_admin") is True else "analyst"
            data["is_admin"] = data["role"] == "admin"
        return data


class ApiToken(StrictModel):
    """Only the SHA-256 of a token is stored; the token is shown once at creation."""

    token_hash: str
    user_id: Name
    created_at: Timestamp
    description: str | None = None
    # `user`: the token acts with its user's role; `ingest`: it may only ingest events.
    scope: TokenScope = "user"
    # Epoch seconds; the backend hides and purges the item after this (seed: TTL attribute `ttl`).
    ttl: int | None = None


def effective_role(user: User, token: ApiToken) -> Role:
    """What a request made with `token` may do: an ingest scope or an ingest user only ingests."""
    if token.scope == "ingest" or user.role == "ingest":
        return "ingest"
    return user.role
