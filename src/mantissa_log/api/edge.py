"""The HTTP edge in front of every route: who is calling, and how much body, how fast.

Pure ASGI (it wraps `receive`), so it decides before a single body byte is read:

1. **Authentication first.** Every API path (`/api/`, `/services/collector/`, `/openapi.json`) but the public ones
   (`/healthz`) needs a valid token. A request without one gets its 401 at once, its body never
   read, and the connection is closed: an upload in flight costs the server nothing. The principal
   goes to `scope["state"]`, where the routes' role checks (`api/deps.py`) and the audit find it.
   The web UI's pages authenticate by session cookie in the web layer instead (`web/context.py`):
   their bodies are forms, held to the default 1 MiB and the same pace as everything else.
2. **Body size, counted on the bytes received** (chunked uploads included): a declared
   `Content-Length` over the route's limit is refused before reading; a body that grows past the
   limit is cut off there. The 413 names the limit.
3. **Body pace**: once the app asks for the body, the time spent waiting for it must stay within
   `grace + received / min_rate` seconds (a client trickling a byte a second is cut off with a 408, token or not).

A refusal is answered here (the app's own later answer is dropped), with `Connection: close`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mantissa_log.api.errors import error_response, response_for
from mantissa_log.errors import MantissaError
from mantissa_log.services.identity import Principal

MIB = 1_048_576
HEC_PREFIX = "/services/collector"
Authenticate = Callable[[str, str | None], Principal]
# A token this process already knows, answered without a store read (None: ask `Authenticate`).
Remembered = Callable[[str, str | None], Principal | None]


@dataclass(frozen=True)
class EdgePolicy:
    public_paths: frozenset[str] = frozenset({"/healthz"})
    # Paths that take an API token; the web UI's pages (everything else) use a session cookie.
    token_prefixes: tuple[str, ...] = ("/api/", HEC_PREFIX, "/openapi.json")
    default_body_limit: int = MIB
    # Log ingestion takes bigger bodies (a CloudTrail delivery file, a batch of JSON lines).
    body_limits: tuple[tuple[str, int], ...] = (("/api/v1/ingest/", 256 * MIB), ("/services/collector", 256 * MIB))
    # Request line + headers; the server's parser (`cli/http_server.py`) enforces it only on heads
    # arriving in several reads.
    max_head_bytes: int = 16_384
    body_grace_seconds: float = 5.0
    body_min_bytes_per_second: int = 16_384

    def needs_token(self, path: str) -> bool:
        return path not in self.public_paths and path.startswith(self.token_prefixes)

    def body_limit(self, path: str) -> int:
        return next((limit for prefix, limit in self.body_limits if path.startswith(prefix)), self.default_body_limit)


class BodyRefused(Exception):
    """Raised into the app when its request body was cut off (the refusal is already answered)."""


def credential(scope: Scope) -> str | None:
    """The token of `Authorization: Bearer <token>` (`Splunk <token>` on the HTTP Event Collector).

    Never from the query string: URLs end up in access logs, proxies and browser history.
    """
    value = Headers(scope=scope).get("authorization", "")
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if not token:
        return None
    if scheme.lower() == "bearer" or (scheme.lower() == "splunk" and scope["path"].startswith(HEC_PREFIX)):
        return token
    return None


def declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    digits = value.strip()
    # More digits than any real body has: over every limit (and int() refuses 4,300+ digits).
    return int(digits) if len(digits) <= 18 else 10**18


class EdgeGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate: Callable[[], Authenticate],
        policy: EdgePolicy,
        routes: Callable[[], Sequence[BaseRoute]] = tuple,
        remembered: Callable[[], Remembered] | None = None,
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.remembered = remembered
        self.policy = policy
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.policy.body_limit(scope["path"])
        exchange = _Exchange(scope, receive, send, limit, self.policy)
        if _head_size(scope) > self.policy.max_head_bytes:
            message = f"request line and headers over {self.policy.max_head_bytes} bytes"
            await exchange.refuse(error_response(431, "too_large", message, "headers"))
            return
        if self.policy.needs_token(scope["path"]):
            refusal = await self._authenticate(scope)
            if refusal is not None:
                self._name_route(scope)
                await exchange.refuse(refusal)
                return
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            self._name_route(scope)
            await exchange.refuse(too_large(limit))
            return
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            if exchange.refused:
                return  # the app failed because its body was cut off; the client has its answer
            raise

    async def _authenticate(self, scope: Scope) -> JSONResponse | None:
        token = credential(scope)
        hec = scope["path"].startswith(HEC_PREFIX)
        if token is None:
            if hec:  # HEC clients read Splunk's codes: 2 "Token is required", 3 "Invalid authorization"
                has_header = "authorization" in Headers(scope=scope)
                text, code = ("Invalid authorization", 3) if has_header else ("Token is required", 2)
                return JSONResponse({"text": text, "code": code}, status_code=401)
            return error_response(401, "unauthenticated", "send `Authorization: Bearer <token>`")
        client = scope.get("client")
        address = client[0] if client else None
        # A token seen in the last seconds is answered from memory, on the loop: a hop to a worker
        # thread costs more than the lookup, and under load it waits for the GIL.
        principal = None if self.remembered is None else self.remembered()(token, address)
        try:
            if principal is None:
                # The token lookup reads the state store (blocking): off the event loop.
                principal = await anyio.to_thread.run_sync(self.authenticate(), token, address)
        except MantissaError as exc:
            if hec and exc.code == "unauthenticated":
                return JSONResponse({"text": "Invalid token", "code": 4}, status_code=403)
            return response_for(exc)
        scope.setdefault("state", {})["principal"] = principal
        return None

    def _name_route(self, scope: Scope) -> None:
        """Refused before routing: still tell the audit which route was asked for (`settings.read`)."""
        partial = None
        for route in self.routes():
            match, _ = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                return
            if match is Match.PARTIAL and partial is None:
                partial = route
        if partial is not None:
            scope["route"] = partial


def _head_size(scope: Scope) -> int:
    line = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 16
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def _has_body(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return "transfer-encoding" in headers or (declared_length(scope) or 0) > 0


def too_large(limit: int) -> JSONResponse:
    return error_response(413, "too_large", f"the request body is over this route's limit of {limit} bytes", "body")


class _Exchange:
    """One request's body as the app reads it: counted, paced, and cut off when refused."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, limit: int, policy: EdgePolicy) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        self.limit, self.policy = limit, policy
        self.received = 0
        self.waited = 0.0  # seconds spent waiting for body bytes
        self.complete = False
        self.started = False
        self.refused = False

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        if self.complete:
            return await self._receive()  # after the body: waiting for a disconnect is not timed
        # Only time spent waiting for the client counts: the app's own work between two reads
        # (parsing a chunk, a busy machine) is not the client's slowness.
        allowed = self.policy.body_grace_seconds + self.received / self.policy.body_min_bytes_per_second
        message: Message | None = None
        started = time.monotonic()
        with anyio.move_on_after(max(0.0, allowed - self.waited)):
            message = await self._receive()
        self.waited += time.monotonic() - started
        if message is None:
            rate = self.policy.body_min_bytes_per_second
            await self.refuse(
                error_response(408, "body_timeout", f"the request body arrived slower than {rate} bytes/s", "body")
            )
            raise BodyRefused
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                await self.refuse(too_large(self.limit))
                raise BodyRefused
            self.complete = not message.get("more_body", False)
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the app answering a request already refused here
        if message["type"] == "http.response.start":
            self.started = True
            if not self.complete and _has_body(self.scope):
                # Answered before the body was read (a 403, a 404): close rather than let the
                # server read and discard the rest of a possibly huge upload.
                MutableHeaders(scope=message)["connection"] = "close"
        await self._send(message)

    async def refuse(self, response: JSONResponse) -> None:
        if self.refused:
            return
        self.refused = True
        if self.started:
            raise BodyRefused  # too late to answer: abort, the server closes the connection
        # Close after answering: the rest of a refused body is never read.
        response.headers["connection"] = "close"

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await response(self.scope, nothing, self._send)
