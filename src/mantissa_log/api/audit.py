"""One audit record per HTTP request, made here and nowhere else.

The action is the matched route's name (`rule.create`, `settings.read`, ...), so a record says
what was done, not only which URL was hit; requests that match no route are recorded as
`http <METHOD> <path>`. A request whose handler raised is recorded too (status 500, outcome
`error`) before the error handler answers. Anonymous requests are rate-limited and summarised by
the audit service. A route may add detail (`note_detail`) or mark an answered request as a
failed action (`note_outcome`, e.g. a test send the receiver refused), but never records itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mantissa_log.domain.audit import Outcome
from mantissa_log.errors import MantissaError

log = logging.getLogger("mantissa_log.audit")

NOT_AUDITED = frozenset({"/healthz"})
# The web UI's own files (CSS, script, icon): fetched with every page, they say nothing of what was done.
NOT_AUDITED_PREFIXES = ("/static/",)


def note_detail(request: Request, **detail: str) -> None:
    current: dict[str, str] = getattr(request.state, "audit_detail", {})
    request.state.audit_detail = current | detail


def note_outcome(request: Request, outcome: Outcome) -> None:
    request.state.audit_outcome = outcome


def _action(request: Request) -> str:
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    if isinstance(name, str) and "." in name:
        return name
    return f"http {request.method} {getattr(route, 'path', request.url.path)}"


def _outcome(request: Request, status: int) -> Outcome:
    if status >= 500:
        return "error"
    if status in (401, 403):
        return "denied"
    if status >= 400:
        return "failure"
    noted: Outcome = getattr(request.state, "audit_outcome", "success")
    return noted


def install_audit(app: FastAPI) -> None:
    async def record(request: Request, status: int, outcome: Outcome) -> None:
        principal = getattr(request.state, "principal", None)
        detail: dict[str, str] = getattr(request.state, "audit_detail", {})
        audit = app.state.services.audit
        try:
            # Queued for the audit's writer thread (`services/audit_writer.py`): the answer does not
            # wait for the chain. Only a full queue makes it wait, off the event loop.
            waiting = audit.submit(
                actor=principal.user_id if principal else "anonymous",
                action=_action(request),
                target=request.url.path,
                outcome=outcome,
                status=status,
                client=request.client.host if request.client else None,
                detail=detail,
            )
            for event in waiting:
                await run_in_threadpool(audit.writer.submit, event)
        except MantissaError as exc:
            # The answer stands (the action happened, or failed for its own reason); a store that
            # cannot take the record (disk full) is an operator alarm, not the client's 500.
            log.critical("audit record not written for %s %s: %s", request.method, request.url.path, exc.message)

    app.add_middleware(AuditEveryRequest, record=record)


Record = Callable[[Request, int, Outcome], Awaitable[None]]


class AuditEveryRequest:
    """Pure ASGI (Starlette's `BaseHTTPMiddleware` costs a task group and a stream per request).

    The record is handed in when the response starts, before its first byte reaches the client,
    so a client's next request always comes after it (the audit's reads wait for it); the route's
    notes are made by then. A request whose handler raised before answering is recorded as 500.
    """

    def __init__(self, app: ASGIApp, record: Record) -> None:
        self.app = app
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = request.url.path
        if path in NOT_AUDITED or path.startswith(NOT_AUDITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        recorded = False

        async def send_recorded(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                status = int(message["status"])
                await self.record(request, status, _outcome(request, status))
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except Exception:
            # The app raised: the outermost handler answers 500. It is audited all the same.
            if not recorded:
                recorded = True
                await self.record(request, 500, "error")
            raise
