"""Users and API tokens (tables added to the seed's three: the API needs identities)."""

from __future__ import annotations

from mantissa_log.domain.common import Name, StrictModel, Timestamp


class User(StrictModel):
    user_id: Name
    is_admin: bool = False
    created_at: Timestamp


class ApiToken(StrictModel):
    """Only the SHA-256 of a token is stored; the token is shown once at creation."""

    token_hash: str
    user_id: Name
    created_at: Timestamp
    description: str | None = None
    # Epoch seconds; the backend hides and purges the item after this (seed: TTL attribute `ttl`).
    ttl: int | None = None
