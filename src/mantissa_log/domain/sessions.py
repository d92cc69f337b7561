"""Web sessions: what the browser's session cookie stands for (added to the seed's tables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mantissa_log.domain.common import Name, StrictModel, Timestamp

FlashKind = Literal["success", "error", "info"]


class Flash(StrictModel):
    """A one-time message for the next page the session shows (after a form's redirect)."""

    kind: FlashKind
    text: str = Field(max_length=2000)


class WebSessionItem(StrictModel):
    """Stored by the SHA-256 of the cookie value only; the cookie itself is never stored."""

    session_hash: str
    user_id: Name
    # The API token the session was opened with (its hash): revoking the token ends the session.
    token_hash: str
    # Every form of the session carries this value; a post without it is refused (CSRF).
    csrf_token: str
    created_at: Timestamp
    ttl: int  # epoch seconds: the session ends then, whatever happens
    flash: list[Flash] = Field(default_factory=list)
