"""Signing in and out: an API token in, a session cookie out.

The login form is protected against CSRF too (a site must not sign a victim into the attacker's
account): a random value in a short-lived cookie must come back in the form (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from mantissa_log.domain.settings import UiPreferences
from mantissa_log.errors import Forbidden, Unauthenticated
from mantissa_log.services.sessions import SESSION_SECONDS
from mantissa_log.web.context import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    CurrentView,
    client_of,
    html,
    is_https,
    same_origin,
    services_of,
)
from mantissa_log.web.forms import Form, read_form, safe_next
from mantissa_log.web.render import render
from mantissa_log.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _login_page(request: Request, *, error: str | None = None, next_path: str = "/", status: int = 200) -> Response:
    login_csrf = secrets.token_urlsafe(24)
    page = render(
        "login.html",
        {"prefs": UiPreferences(), "error": error, "next": next_path, "login_csrf": login_csrf},
    )
    response = html(page, status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        login_csrf,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/login",
    )
    return response


@router.get("/login", name="web.login.form")
def login_form(request: Request, next: str | None = None) -> Response:
    try:  # already signed in: straight on
        services_of(request).sessions.resolve(request.cookies.get(SESSION_COOKIE), client_of(request))
    except Unauthenticated:
        return _login_page(request, next_path=safe_next(next))
    return RedirectResponse(safe_next(next), status_code=303, headers={"Cache-Control": "no-store"})


@router.post("/login", name="web.login")
def login(request: Request, form: Annotated[Form, Depends(read_form)]) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    offered = form.get("csrf_token")
    if not expected or not hmac.compare_digest(expected.encode(), offered.encode()) or not same_origin(request):
        raise CsrfRefused("the sign-in form expired or did not come from this site: reload it and try again")
    next_path = safe_next(form.get("next"))
    services = services_of(request)
    try:
        session_id, session = services.sessions.login(form.get("token"), client_of(request))
    except Unauthenticated:
        return _login_page(
            request, error="That token is not valid (revoked, expired or mistyped).", next_path=next_path, status=401
        )
    except Forbidden as refused:
        return _login_page(request, error=refused.message, next_path=next_path, status=403)
    request.state.principal = session.principal
    response = RedirectResponse(next_path, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", name="web.logout")
def logout(view: CurrentView) -> Response:
    view.services.sessions.logout(view.session)
    response = RedirectResponse("/login", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(view.request))
    return response
