"""The route class of every page: errors become pages (or a redirect to sign in), never JSON.

Errors raised by a page's dependencies (no session, a form without its CSRF token) and by the
services it calls end here; the API's own handlers stay JSON for `/api/...`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from mantissa_log.domain.settings import UiPreferences
from mantissa_log.errors import (
    Conflict,
    Forbidden,
    MantissaError,
    NotFound,
    StorageFull,
    StoreError,
    Unauthenticated,
    ValidationFailed,
    is_no_room,
)
from mantissa_log.web.context import html
from mantissa_log.web.render import render

log = logging.getLogger("mantissa_log.web")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

STATUS: list[tuple[type[MantissaError], int, str]] = [
    (NotFound, 404, "Not found"),
    (Forbidden, 403, "Not allowed"),
    (ValidationFailed, 422, "That did not work"),
    (Conflict, 409, "Changed meanwhile"),
    (StorageFull, 507, "Storage full"),
    (StoreError, 503, "Storage unavailable"),
]


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    """Inside the app's frame (navigation, sign-out) when signed in, on its own otherwise."""
    session = getattr(request.state, "web_session", None)
    context: dict[str, Any] = {
        "status": status,
        "title": title,
        "message": message,
        "prefs": getattr(request.state, "prefs", None) or UiPreferences(),
        "who": None,
    }
    if session is not None:
        context |= {
            "who": session.principal,
            "csrf_token": session.csrf_token,
            "flash": (),
            "now": None,
            "path": request.url.path,
            "full_path": request.url.path,
        }
    return html(render("error.html", context), status)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    wanted = "" if request.method != "GET" or target == "/" else f"?next={quote(target, safe='')}"
    return RedirectResponse(f"/login{wanted}", status_code=303, headers={"Cache-Control": "no-store"})


def on_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, Unauthenticated):
        return login_redirect(request)
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path"))
        return error_page(request, 400, "Bad address", f"{first.get('msg', 'invalid request')} ({where})")
    if isinstance(exc, MantissaError):
        for kind, status, title in STATUS:
            if isinstance(exc, kind):
                if status >= 500:
                    log.error("page %s failed: %s", request.url.path, type(exc).__name__)
                    text = exc.message if isinstance(exc, StorageFull) else "the state store is unavailable"
                    return error_page(request, status, title, text)
                return error_page(request, status, title, exc.message)
        log.error("page %s failed: %s", request.url.path, type(exc).__name__)
        return error_page(request, 500, "Something broke", "the server could not do this; the log says why")
    if is_no_room(exc):
        return error_page(request, 507, "Storage full", "a disk of this server is full")
    log.exception("page %s failed", request.url.path)
    return error_page(request, 500, "Something broke", "the server could not do this; the log says why")


class WebRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except Exception as exc:  # every failure of a page is a page
                return on_error(request, exc)

        return handler
