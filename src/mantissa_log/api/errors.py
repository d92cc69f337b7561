"""The one place where errors become HTTP responses: `{"error": {code, message, field}}`."""

from __future__ import annotations

import logging
import sys

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mantissa_log.domain.common import error_field
from mantissa_log.domain.validation import NOISE, first_error
from mantissa_log.errors import (
    ConfigError,
    Conflict,
    DependencyFailed,
    Forbidden,
    InvalidCursor,
    MantissaError,
    NotFound,
    RateLimited,
    SecretStoreError,
    StorageFull,
    StoreError,
    Unauthenticated,
    UpstreamFailed,
    ValidationFailed,
    is_no_room,
)

log = logging.getLogger("mantissa_log.api")

STATUS: list[tuple[type[MantissaError], int]] = [
    (InvalidCursor, 400),
    (ValidationFailed, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (Unauthenticated, 401),
    (RateLimited, 429),
    (DependencyFailed, 424),
    (UpstreamFailed, 502),
    (StorageFull, 507),
    (StoreError, 503),
    (SecretStoreError, 503),
    (ConfigError, 500),
]


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    line: int | None = None,
    extra: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if line is not None:
        body["line"] = line
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def response_for(exc: MantissaError) -> JSONResponse:
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 500)
    if isinstance(exc, StorageFull):
        # Our own words, naming which disk: the operator's first clue (nothing quoted from data).
        log.error("storage full: %s", exc.message)
        return error_response(status, exc.code, exc.message)
    if isinstance(exc, RateLimited):
        refused = error_response(status, exc.code, exc.message, exc.field)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    if isinstance(exc, UpstreamFailed):
        # Our own words about a provider (timed out, unreachable, HTTP 5xx): no stored data in them.
        return error_response(status, exc.code, exc.message, exc.field)
    if status >= 500:
        # Backend failures are logged by type only: their text may quote stored data.
        log.error("backend failure: %s", type(exc).__name__)
        return error_response(status, exc.code, "the state store or secret store is unavailable")
    return error_response(status, exc.code, exc.message, exc.field, exc.line, exc.public_detail())


async def on_mantissa_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MantissaError)
    return response_for(exc)


async def on_request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"type": "invalid", "loc": (), "msg": "invalid request"}
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return error_response(400, "bad_json", "request body is not valid JSON", "body")
    if loc and loc[0] in ("query", "path", "header"):
        return error_response(400, "bad_parameter", str(first.get("msg")), error_field(loc, drop=NOISE))
    if loc == ("body",) and first.get("type") in ("missing", "model_attributes_type", "dict_type"):
        return error_response(400, "bad_body", "a JSON object body is required", "body")
    # Re-run through our converter for one consistent message and field name.
    field = error_field(loc, drop=NOISE)
    message = "unknown field" if first.get("type") == "extra_forbidden" else str(first.get("msg"))
    if first.get("type") in ("union_tag_invalid", "union_tag_not_found"):
        field = "integration_type"
    return error_response(422, "invalid", message, field or None)


async def on_pydantic_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    failed = first_error(exc)
    return error_response(422, failed.code, failed.message, failed.field)


def unreadable_body(cause: BaseException) -> str:
    """Why a body that FastAPI could not parse is unreadable (never quoting it)."""
    if isinstance(cause, UnicodeDecodeError):
        return "request body is not valid UTF-8"
    if isinstance(cause, RecursionError):
        return "request body is nested too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return f"request body holds a number with more than {sys.get_int_max_str_digits()} digits"
    return "request body is not valid JSON"


async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI raises a bare 400 "from" whatever made the body unparseable (invalid UTF-8,
        # 100,000-deep nesting, a 5,000-digit integer): name the body and say which.
        return error_response(400, "bad_json", unreadable_body(exc.__cause__), "body")
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    if is_no_room(exc):
        # A disk outside the stores that know how to say so (key files, temporary space).
        log.error("storage full: %s", type(exc).__name__)
        return error_response(507, StorageFull.code, "a disk of this server is full")
    log.exception("unexpected error: %s", type(exc).__name__)
    return error_response(500, "internal", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MantissaError, on_mantissa_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(ValidationError, on_pydantic_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
