"""Web sessions: a browser signs in with an API token and gets a session cookie instead.

The cookie value is 256 random bits; only its SHA-256 is stored, with the hash of the API token
it was opened with, so revoking that token (or deleting the user) ends the session at the next
request. Each session has its own CSRF token that every form must send back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from mantissa_log.clock import Clock, iso
from mantissa_log.domain.sessions import Flash, FlashKind, WebSessionItem
from mantissa_log.errors import Forbidden, Unauthenticated
from mantissa_log.services.identity import Principal
from mantissa_log.services.users import UserService, hash_token
from mantissa_log.state.repositories.sessions import SessionRepository

SESSION_PREFIX = "mls_"
SESSION_SECONDS = 12 * 3600  # a working shift; then sign in again


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class WebSession:
    principal: Principal
    csrf_token: str
    session_hash: str
    flash: tuple[Flash, ...] = ()

    def csrf_matches(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(self.csrf_token.encode(), str(offered).encode())


class SessionService:
    def __init__(self, repo: SessionRepository, users: UserService, clock: Clock) -> None:
        self.repo = repo
        self.users = users
        self.clock = clock

    def login(self, token: str, client: str | None = None) -> tuple[str, WebSession]:
        """Open a session for a valid API token; returns the cookie value (shown to no one else)."""
        principal = self.users.authenticate(token.strip(), client)
        if principal.role == "ingest":
            # A log shipper's token only writes events: it has nothing to see here.
            raise Forbidden("an ingest token cannot sign in: use an analyst's or an admin's token")
        session_id = SESSION_PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        item = WebSessionItem(
            session_hash=_digest(session_id),
            user_id=principal.user_id,
            token_hash=hash_token(token.strip()),
            csrf_token=secrets.token_urlsafe(32),
            created_at=iso(now),
            ttl=int(now.timestamp()) + SESSION_SECONDS,
        )
        self.repo.create(item)
        return session_id, WebSession(principal, item.csrf_token, item.session_hash)

    def resolve(self, session_id: str | None, client: str | None = None) -> WebSession:
        """The live session a cookie names; Unauthenticated when there is none (ended, expired, revoked)."""
        if not session_id or not session_id.startswith(SESSION_PREFIX) or len(session_id) > 200:
            raise Unauthenticated("sign in first")
        item = self.repo.get(_digest(session_id))
        if item is None:
            raise Unauthenticated("the session has ended: sign in again")
        principal = self.users.principal_for(item.token_hash, client)
        if principal is None or principal.user_id != item.user_id or principal.role == "ingest":
            self.repo.delete(item.session_hash)
            raise Unauthenticated("the token this session was opened with was revoked: sign in again")
        return WebSession(principal, item.csrf_token, item.session_hash, tuple(item.flash))

    def logout(self, session: WebSession) -> None:
        self.repo.delete(session.session_hash)

    def flash(self, session: WebSession, kind: FlashKind, text: str) -> None:
        """A message for the next page this session shows."""
        self.repo.set_flash(session.session_hash, [*session.flash, Flash(kind=kind, text=text[:2000])])

    def take_flash(self, session: WebSession) -> tuple[Flash, ...]:
        """The pending messages, removed from the session as they are shown."""
        if session.flash:
            self.repo.set_flash(session.session_hash, [])
        return session.flash
