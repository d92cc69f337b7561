"""Users and API tokens. A token is shown once; only its SHA-256 is stored.

A token that authenticated is remembered in this process for `TOKEN_CACHE_SECONDS` (never past
its own expiry), so a busy client costs no store reads per request. Revoking tokens through this
process (`revoke_tokens`: the API, or the CLI against a server's own services) forgets them at
once; a revocation made by another process (another server, the CLI) takes effect here within
`TOKEN_CACHE_SECONDS`. Failed lookups are not remembered: a new token works at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as pysecrets
import threading

from mantissa_log.clock import Clock, iso
from mantissa_log.domain.common import NAME_RE
from mantissa_log.domain.users import ApiToken, Role, TokenScope, User, effective_role
from mantissa_log.errors import NotFound, Unauthenticated, ValidationFailed
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.users import UserRepository

TOKEN_PREFIX = "mlt_"
# Longer than any token we issue; a longer header value is refused without being hashed.
MAX_TOKEN_LENGTH = 256
TOKEN_CACHE_SECONDS = 5.0
TOKEN_CACHE_LIMIT = 10_000  # distinct tokens remembered; past it the memory starts afresh


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain digest is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def token_id_of(token: ApiToken) -> str:
    """A public name for a token: a prefix of its hash (the hash is not the token, and cannot give it back)."""
    return token.token_hash[:12]


class UserService:
    def __init__(self, repo: UserRepository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock
        # token hash -> (the principal's user id and role, remembered until this epoch time)
        self._known: dict[str, tuple[str, Role, float]] = {}
        self._known_lock = threading.Lock()

    def create_user(self, user_id: str, *, is_admin: bool = False, role: Role | None = None) -> tuple[User, str]:
        """Create the user and their first token; returns the token (never stored).

        `role` defaults to `admin` when `is_admin`, else `analyst`; an `ingest` user is a log
        shipper's identity whose tokens can only ingest.
        """
        if not NAME_RE.match(user_id):
            raise ValidationFailed("use letters, digits, '.', '_' or '-' (max 128)", field="user_id")
        if role is not None and is_admin and role != "admin":
            raise ValidationFailed("an admin has the role admin", field="role")
        user = User(
            user_id=user_id, role=role or ("admin" if is_admin else "analyst"), created_at=iso(self.clock.now())
        )
        self.repo.create_user(user)
        return user, self.issue_token(user_id)

    def issue_token(
        self,
        user_id: str,
        *,
        ttl_seconds: int | None = None,
        description: str | None = None,
        scope: TokenScope = "user",
    ) -> str:
        """A new token for the user; `scope="ingest"` makes one that can only ingest events."""
        user = self.repo.get_user(user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", field="user_id")
        token = TOKEN_PREFIX + pysecrets.token_urlsafe(32)
        self.repo.add_token(
            ApiToken(
                token_hash=hash_token(token),
                user_id=user_id,
                created_at=iso(self.clock.now()),
                description=description,
                # Stored as what it can do: an ingest user's tokens stay ingest-only whatever happens later.
                scope="ingest" if user.role == "ingest" else scope,
                ttl=int(self.clock.now().timestamp()) + ttl_seconds if ttl_seconds else None,
            )
        )
        return token

    def remembered(self, token: str, client: str | None = None) -> Principal | None:
        """Who a token stands for if this process remembers it (no store read: safe on the event
        loop); None means "ask `authenticate`", never "refused"."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            return None
        with self._known_lock:
            known = self._known.get(hash_token(token))
        if known is not None and self.clock.now().timestamp() < known[2]:
            return Principal(user_id=known[0], role=known[1], client=client)
        return None

    def authenticate(self, token: str, client: str | None = None) -> Principal:
        if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            raise Unauthenticated("invalid token")
        remembered = self.remembered(token, client)
        if remembered is not None:
            return remembered
        digest = hash_token(token)
        now = self.clock.now().timestamp()
        stored = self.repo.get_token(digest)
        if stored is None or not hmac.compare_digest(stored.token_hash, digest):
            raise Unauthenticated("invalid or expired token")
        user = self.repo.get_user(stored.user_id)
        if user is None:
            raise Unauthenticated("invalid token")
        role = effective_role(user, stored)
        until = min(now + TOKEN_CACHE_SECONDS, float(stored.ttl) if stored.ttl else float("inf"))
        with self._known_lock:
            if len(self._known) >= TOKEN_CACHE_LIMIT:
                self._known.clear()
            self._known[digest] = (user.user_id, role, until)
        return Principal(user_id=user.user_id, role=role, client=client)

    def principal_for(self, token_hash: str, client: str | None = None) -> Principal | None:
        """Who a stored token hash stands for, if the token still exists (not revoked, not expired)."""
        stored = self.repo.get_token(token_hash)
        user = None if stored is None else self.repo.get_user(stored.user_id)
        if stored is None or user is None:
            return None
        return Principal(user_id=user.user_id, role=effective_role(user, stored), client=client)

    def tokens_of(self, user_id: str) -> list[ApiToken]:
        """A user's tokens (hashes only), oldest first; `token_id` names one for revoking."""
        return sorted(self.repo.tokens_of(user_id), key=lambda t: (t.created_at, t.token_hash))

    def revoke_token(self, user_id: str, token_id: str) -> None:
        """Revoke one token of a user, named by its id (the first characters of its hash)."""
        for token in self.repo.tokens_of(user_id):
            if token_id_of(token) == token_id:
                self.repo.delete_token(token.token_hash)
                return
        raise NotFound(f"user {user_id} has no token {token_id}", field="token_id")

    def revoke_tokens(self, user_id: str) -> int:
        tokens = self.repo.tokens_of(user_id)
        for token in tokens:
            self.repo.delete_token(token.token_hash)
        with self._known_lock:  # this process stops accepting them at once, whatever was remembered
            for digest in [d for d, known in self._known.items() if known[0] == user_id]:
                del self._known[digest]
        return len(tokens)

    def list_users(self) -> list[User]:
        return self.repo.list_users()

    def has_users(self) -> bool:
        return bool(self.repo.list_users())

    def exists(self, user_id: str) -> bool:
        return self.repo.get_user(user_id) is not None
