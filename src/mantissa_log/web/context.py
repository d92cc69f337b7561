"""What every page needs: the signed-in session (or a redirect to /login), CSRF, preferences, rendering.

A page's route takes `View` (a GET or a POST): the session cookie is resolved to its user (and the
audit middleware told who it is); a POST must carry the session's CSRF token in `csrf_token` and,
when the browser says where it comes from (`Origin`), come from this site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mantissa_log.domain.sessions import Flash, FlashKind
from mantissa_log.domain.settings import UiPreferences
from mantissa_log.errors import Forbidden, MantissaError
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from mantissa_log.services.sessions import WebSession
from mantissa_log.web.forms import Form, read_form
from mantissa_log.web.render import render

SESSION_COOKIE = "mantissa_session"
LOGIN_CSRF_COOKIE = "mantissa_login_csrf"

# Pages are the user's own data: never cached, never framed, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class CsrfRefused(Forbidden):
    """A form posted without this session's CSRF token (or from another site)."""

    code = "csrf"


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


def same_origin(request: Request) -> bool:
    """No `Origin` header (an old browser, a form-less client) passes; a foreign one does not."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


@dataclass
class View:
    request: Request
    services: Services
    session: WebSession
    prefs: UiPreferences
    form: Form
    flash: tuple[Flash, ...] = ()
    notes: list[Flash] = field(default_factory=list)

    @property
    def who(self) -> Principal:
        return self.session.principal

    @property
    def now(self) -> datetime:
        return self.services.clock.now()

    def base_context(self) -> dict[str, Any]:
        return {
            "who": self.who,
            "prefs": self.prefs,
            "csrf_token": self.session.csrf_token,
            "flash": [*self.flash, *self.notes],
            "now": self.now,
            "path": self.request.url.path,
            "full_path": self.request.url.path + (f"?{self.request.url.query}" if self.request.url.query else ""),
        }

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return html(render(template, self.base_context() | context), status)

    def audit(self, **detail: str) -> None:
        """Extra fields for this request's audit record (the API's audit middleware writes it)."""
        current: dict[str, str] = getattr(self.request.state, "audit_detail", {})
        self.request.state.audit_detail = current | detail

    def note(self, kind: FlashKind, text: str) -> None:
        """A message on the page rendered now (no redirect)."""
        self.notes.append(Flash(kind=kind, text=text))

    def redirect(self, url: str, kind: FlashKind | None = None, text: str | None = None) -> RedirectResponse:
        """303 to `url` (POST-redirect-GET), with an optional message for the page it lands on."""
        if kind and text:
            self.services.sessions.flash(self.session, kind, text)
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})

    def failed(self, exc: MantissaError) -> str:
        """An error as one line for the page: the message, the field and line it is about."""
        where = []
        if exc.line is not None:
            where.append(f"line {exc.line}")
        if exc.field:
            where.append(f"field {exc.field}")
        return f"{exc.message} ({', '.join(where)})" if where else exc.message


def current_view(request: Request, form: Annotated[Form, Depends(read_form)]) -> View:
    services = services_of(request)
    session = services.sessions.resolve(request.cookies.get(SESSION_COOKIE), client_of(request))
    request.state.principal = session.principal  # the audit record's actor
    request.state.web_session = session
    posted = request.method not in ("GET", "HEAD")
    if posted and (not session.csrf_matches(form.get("csrf_token") or None) or not same_origin(request)):
        raise CsrfRefused("this form has expired or did not come from this site: reload the page and try again")
    prefs = services.settings.get(session.principal).ui_preferences
    request.state.prefs = prefs
    flash = services.sessions.take_flash(session) if request.method == "GET" else ()
    return View(request, services, session, prefs, form, flash)


CurrentView = Annotated[View, Depends(current_view)]
