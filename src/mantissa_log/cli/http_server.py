"""uvicorn, configured for hostile clients: what `serve` runs.

- HTTP/1.1 parsed by httptools (llhttp, in C), the event loop is uvloop where installed
  (uvicorn's `auto`): both pinned dependencies.
- Each request head must arrive whole within `MANTISSA_REQUEST_HEAD_TIMEOUT_SECONDS` of the
  connection opening (or of the previous answer): uvicorn itself waits forever for a slow head.
  Heads are at most 16 KiB (a 400 for one still incomplete past that; the edge's 431 for one that
  came whole); idle keep-alive connections close after 5 s. Bodies are paced by the app's edge
  (`api/edge.py`).
- Forwarding headers are left to the app (`MANTISSA_TRUSTED_PROXIES`), so uvicorn's own proxy
  handling (which trusts 127.0.0.1 by default) is off.
- The access log never prints query strings: a secret pasted into a URL (`?token=...`) would sit
  in every log line and log shipper after it.
- On SIGTERM/SIGINT requests in flight get `MANTISSA_SHUTDOWN_GRACE_SECONDS`; a watchdog then ends
  the process even if a thread or the event loop is stuck.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import os
import threading
from types import FrameType
from typing import Any, cast

import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mantissa_log.api.security_headers import HEADERS as SECURITY_HEADERS
from mantissa_log.config import Settings

MAX_HEAD_BYTES = 16_384
KEEP_ALIVE_SECONDS = 5
# After the graceful period: time for uvicorn's own last steps before the watchdog ends the process.
WATCHDOG_MARGIN_SECONDS = 3.0


class NoQueryStrings(logging.Filter):
    """uvicorn's access record carries `path?query` as its third argument; keep only the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def log_config() -> dict[str, Any]:
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"no_query_strings": {"()": NoQueryStrings}}
    config["loggers"]["uvicorn.access"]["filters"] = ["no_query_strings"]
    return config


class CoalescedWrites:
    """A connection's transport whose writes of one event-loop step go out in one send.

    uvicorn writes a response's head and its body separately: two system calls, and on loopback
    two wake-ups of the reader, each with the GIL held (uvloop sends at once). Joined, the
    answer of a short response leaves in one send at the end of the step. Past `FLUSH_BYTES` the
    pending bytes are sent at once, so the transport's flow control (pause_writing) still sees a
    large streamed answer as it grows. Everything but `write` and `close` is the transport's own.
    """

    FLUSH_BYTES = 65_536

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= self.FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()  # an answer written just before closing still leaves first
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeadDeadlineHttpTools(HttpToolsProtocol):
    """uvicorn's httptools (llhttp) protocol with the guards uvicorn lacks.

    - A deadline for every request head: from the connection opening or the previous answer
      until the head is whole (uvicorn waits forever for a slow head).
    - A size limit on a head arriving in several reads (llhttp keeps no limit; the pieces pile up
      in the protocol): over `max_head_bytes` still incomplete is a 400. A head that arrives whole
      in one read is measured by the edge instead, which answers 431 (`api/edge.py`).
    - A head llhttp refuses gets a 400 in our error shape, with the security headers.

    httptools parses the head in C (h11, before, cost about 5 % of the server's time under load).
    """

    head_timeout_seconds = 5.0
    max_head_bytes = MAX_HEAD_BYTES
    _head_deadline: asyncio.TimerHandle | None = None
    # Bytes received while a head is incomplete (counted per read, from the read it started in).
    _head_received = 0
    _awaiting_head = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(cast(asyncio.Transport, CoalescedWrites(transport, self.loop)))
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._head_received += len(data)
        super().data_received(data)
        if self._awaiting_head and self._head_received > self.max_head_bytes and not self.transport.is_closing():
            self.send_400_response("request head over the size limit")

    def on_headers_complete(self) -> None:
        # A whole head arrived: a request is under way (its body is paced by the edge).
        self._awaiting_head = False
        self._head_received = 0
        self._disarm_head_deadline()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True  # what the client sends next is the next head
        self._head_received = 0

    def on_response_complete(self) -> None:
        self._arm_head_deadline()
        super().on_response_complete()
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request whose head had already arrived was started: no head is awaited.
            self._disarm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """A request llhttp cannot parse (bad request line or headers, a head over 16 KiB): our error shape."""
        body = json.dumps(
            {"error": {"code": "bad_request", "message": "malformed HTTP request line or headers", "field": "request"}}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        headers += [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(b"HTTP/1.1 400 Bad Request\r\n" + head + b"\r\n" + body)
        self.transport.close()

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout_seconds, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def head_deadline_protocol(seconds: float) -> type[HeadDeadlineHttpTools]:
    return type("HeadDeadlineHttpTools", (HeadDeadlineHttpTools,), {"head_timeout_seconds": seconds})


class BoundedServer(uvicorn.Server):
    """uvicorn's graceful shutdown, plus a watchdog: the process ends even if something is stuck."""

    _watchdog: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._watchdog is None:
            grace = self.config.timeout_graceful_shutdown or 0
            self._watchdog = threading.Timer(grace + WATCHDOG_MARGIN_SECONDS, os._exit, args=(128 + sig,))
            self._watchdog.daemon = True
            self._watchdog.start()


def build_server(app: Any, host: str, port: int, settings: Settings) -> BoundedServer:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=head_deadline_protocol(settings.request_head_timeout_seconds),
        ws="none",
        log_level="info",
        log_config=log_config(),
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
    )
    return BoundedServer(config)
