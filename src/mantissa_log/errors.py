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

    def public_detail(self) -> dict[str, str]:
        """Extra fields of the error body (besides code, message, field, line); none by default."""
        return {}

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


class QueryRefused(ValidationFailed):
    """SQL that the query guard refuses, or that failed or ran out of its limits (422).

    `code`: `query_refused` (not one read-only SELECT over the log tables), `query_failed` (DuckDB
    could not run it), `query_timeout` or `query_memory` (stopped by a limit). `sql` is the text as
    the guard saw it, `conversation_id` the conversation the attempt was recorded in, if any.
    """

    code = "query_refused"

    def __init__(
        self,
        message: str,
        *,
        code: str = "query_refused",
        sql: str | None = None,
        conversation_id: str | None = None,
    ) -> None:
        super().__init__(message, field="sql")
        self.code = code
        self.sql = sql
        self.conversation_id = conversation_id

    def public_detail(self) -> dict[str, str]:
        detail = {"sql": self.sql} if self.sql is not None else {}
        return detail | ({"conversation_id": self.conversation_id} if self.conversation_id else {})


class DependencyFailed(MantissaError):
    """A service the request needs cannot be used as the caller configured it (HTTP 424).

    Used for the caller's LLM settings: no provider or model, no key, a key the provider refuses,
    a model it does not know, an endpoint the outbound guard refuses. `field` names the setting.
    """

    code = "dependency_failed"

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class UpstreamFailed(MantissaError):
    """A service the request needs failed or answered unusably (HTTP 502): an LLM provider that
    timed out, kept answering 429/5xx, could not be reached, or gave no usable answer."""

    code = "upstream_failed"

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class SecretStoreError(MantissaError):
    """The secret store or key material failed (missing key, wrong key, unreachable service)."""

    code = "secrets"
