"""One error tree for the whole package.

Every error carries the field (and, for documents, the line) it is about, so the HTTP API and
the CLI can each turn it into a clear message in exactly one place.
"""

from __future__ import annotations


class MantissaError(Exception):
    """Root of every error this package raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.line = line

    def __str__(self) -> str:
        where = []
        if self.field:
            where.append(f"field '{self.field}'")
        if self.line is not None:
            where.append(f"line {self.line}")
        return f"{self.message} ({', '.join(where)})" if where else self.message


class ValidationFailed(MantissaError):
    """Input is well-formed but its meaning is wrong (bad value, unknown field, bad enum)."""

    code = "invalid"


class SecretInPlainField(ValidationFailed):
    """A secret value was offered in a field that is not write-only."""

    code = "secret_in_plain_field"


class InvalidCursor(MantissaError):
    """A page cursor (`next`) that no list returned, or one returned by another list (a 400)."""

    code = "bad_parameter"

    def __init__(self, message: str = "not a cursor returned by this list", *, field: str | None = "next") -> None:
        super().__init__(message, field=field)


class NotFound(MantissaError):
    """The item does not exist, or belongs to someone else (the two are indistinguishable)."""

    code = "not_found"


class Conflict(MantissaError):
    """The item already exists, or a conditional write lost a race."""

    code = "conflict"


class Forbidden(MantissaError):
    """The caller is known but not allowed (admin-only routes)."""

    code = "forbidden"


class Unauthenticated(MantissaError):
    """No valid credentials."""

    code = "unauthenticated"


class RateLimited(MantissaError):
    """Too many requests of one kind; `retry_after` says in how many seconds one is allowed again."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class ConfigError(MantissaError):
    """The process configuration is unusable."""

    code = "config"


class StoreError(MantissaError):
    """A storage backend failed for a reason that is not the caller's input."""

    code = "store"


class StorageFull(StoreError):
    """A disk (or quota) is full: nothing was written. The message names which store."""

    code = "insufficient_storage"


# errno values that mean "no room": full disk, exceeded quota, file size limit.
NO_ROOM_ERRNOS = frozenset({28, 122, 27})  # ENOSPC, EDQUOT, EFBIG
NO_ROOM_TEXTS = ("no space left", "disk is full", "database or disk is full", "quota exceeded", "file too large")


def is_no_room(exc: BaseException) -> bool:
    """Whether an error (OSError, or a library error quoting one) means a full disk or quota."""
    if isinstance(exc, OSError) and exc.errno in NO_ROOM_ERRNOS:
        return True
    text = str(exc).lower()
    return any(marker in text for marker in NO_ROOM_TEXTS)


class SecretStoreError(MantissaError):
    """The secret store or key material failed (missing key, wrong key, unreachable service)."""

    code = "secrets"
