"""The busiest read, `GET /api/v1/alerts`, answered without FastAPI's per-request machinery.

Under load FastAPI's own work around this route (route matching, dependency resolution, query
validation by pydantic, four middleware layers of its own, the hop of a plain `def` route to the
thread pool) cost several times the route's work (py-spy; benchmarks/README.md, "API"). This layer sits
just inside the edge (`api/edge.py`: the token and the body limits are checked, the audit and
the security headers wrap it as before) and answers the request itself only when it can give the
very answer the declared route would:

- the method is GET, the path exactly `/api/v1/alerts`, no `root_path`;
- the caller's role may list alerts (admin, analyst: `CurrentUser`); an ingest token goes on to
  the route, which answers its 403;
- every query parameter is one the route declares, given once, with a value the route's own
  validation accepts and that this module can check exactly (`limit` as plain digits 1-200,
  `severity` and `status` from their closed sets, `since` in the route's pattern, ASCII only,
  `next` of at most 4,096 characters that decodes as a cursor of this caller).

Anything else (a repeated or unknown parameter, `rule_name`, a value to refuse, a bad cursor)
goes on to FastAPI unchanged, so every refusal, message and status stays the route's own. The
answer is `page_json_response` of the same `AlertService.list_json` call, the audit's action
the route's name (`alert.list`), and the store's errors become responses by the same
`response_for` as the app's handlers. `tests/api/test_direct.py` compares both paths' answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl

import anyio
from pydantic import ValidationError
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from mantissa_log.api.deps import decode_cursor, encode_cursor
from mantissa_log.api.errors import error_response, response_for
from mantissa_log.api.routes.alerts import ISO_Z
from mantissa_log.api.schemas.common import page_json_response
from mantissa_log.domain.alerts import ALERT_STATUSES, AlertStatus
from mantissa_log.domain.common import SEVERITIES, Severity
from mantissa_log.domain.validation import first_error
from mantissa_log.errors import InvalidCursor, MantissaError
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal

ALERTS_PATH = "/api/v1/alerts"
ALERT_LIST = "alert.list"
# The route's own `since` pattern, checked on ASCII text only, where Python's and pydantic's
# regular expressions agree.
SINCE = re.compile(ISO_Z)
LIMIT = re.compile(r"[1-9][0-9]{0,2}")
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
MAX_CURSOR = 4096
LISTERS = frozenset({"admin", "analyst"})
KNOWN = frozenset({"limit", "next", "severity", "status", "since"})


class _Declined(Exception):
    """The request is not one answered here: FastAPI's route answers it."""


def _list_arguments(query_string: bytes, who: Principal) -> dict[str, Any]:
    # As Starlette reads a query string (`QueryParams`), so both paths see the same values.
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs) or not params.keys() <= KNOWN:
        raise _Declined
    limit = params.get("limit", str(DEFAULT_LIMIT))
    if not LIMIT.fullmatch(limit) or int(limit) > MAX_LIMIT:
        raise _Declined
    severity = params.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise _Declined
    status = params.get("status")
    if status is not None and status not in ALERT_STATUSES:
        raise _Declined
    since = params.get("since")
    if since is not None and not (since.isascii() and SINCE.fullmatch(since)):
        raise _Declined
    cursor = params.get("next")
    if cursor is not None and len(cursor) > MAX_CURSOR:
        raise _Declined
    try:
        start_key = decode_cursor(cursor, who.user_id)
    except InvalidCursor:
        raise _Declined from None
    statuses: tuple[AlertStatus, ...] = () if status is None else (status,)
    chosen: Severity | None = severity
    return {
        "severity": chosen,
        "rule_name": None,
        "since": since,
        "statuses": statuses,
        "limit": int(limit),
        "start_key": start_key,
    }


class DirectReads:
    """Pure ASGI, inside the edge: answers the alert list itself when it can (see the module)."""

    def __init__(
        self, app: ASGIApp, *, services: Callable[[], Services], routes: Callable[[], Sequence[BaseRoute]]
    ) -> None:
        self.app = app
        self.services = services
        self.routes = routes
        self._route: BaseRoute | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != ALERTS_PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        who = scope.get("state", {}).get("principal")
        if not isinstance(who, Principal) or who.role not in LISTERS or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        try:
            arguments = _list_arguments(scope.get("query_string", b""), who)
        except _Declined:
            await self.app(scope, receive, send)
            return
        scope["route"] = self._alert_list()  # what the audit names the action by
        services = self.services()
        try:
            if services.config.state_backend == "sqlite":
                # The same call as the route. On SQLite a page is one indexed read of a WAL
                # database (readers never wait for the writer) and, for alerts listed before,
                # a dict lookup per row: ~0.3 ms, a quarter of what handing it to a worker
                # thread and back costs the event loop (py-spy). So it runs here, on the loop.
                page = services.alerts.list_json(who, **arguments)
            else:
                # DynamoDB answers over the network: on a worker thread, as FastAPI runs the route.
                page = await anyio.to_thread.run_sync(lambda: services.alerts.list_json(who, **arguments))
            response = page_json_response(page.items, encode_cursor(page.next_key))
        except MantissaError as exc:
            response = response_for(exc)
        except ValidationError as exc:
            failed = first_error(exc)
            response = error_response(422, failed.code, failed.message, failed.field)
        await response(scope, receive, send)

    def _alert_list(self) -> BaseRoute:
        if self._route is None:
            self._route = next(route for route in self.routes() if getattr(route, "name", None) == ALERT_LIST)
        return self._route
