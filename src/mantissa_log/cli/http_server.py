"""uvicorn, configured for hostile clients: what `serve` runs.

- Each request head must arrive whole within `MANTISSA_REQUEST_HEAD_TIMEOUT_SECONDS` of the
  connection opening (or of the previous answer): uvicorn itself waits forever for a slow head.
  Heads are at most 16 KiB (h11's incomplete-event limit); idle keep-alive connections close
  after 5 s. Bodies are paced by the app's edge (`api/edge.py`).
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
from typing import Any

import h11
import uvicorn
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

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


class HeadDeadlineH11(H11Protocol):
    """h11 with a deadline for every request head (uvicorn has none: a slow head holds a connection)."""

    head_timeout_seconds = 5.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a whole head arrived: a request is under way
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        # Armed before uvicorn looks at pipelined data (which may start the next request at once).
        self._arm_head_deadline()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """A request h11 cannot parse (bad request line or headers, a head over 16 KiB): our error shape."""
        body = json.dumps(
            {"error": {"code": "bad_request", "message": "malformed HTTP request line or headers", "field": "request"}}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        headers += [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
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


def head_deadline_protocol(seconds: float) -> type[HeadDeadlineH11]:
    return type("HeadDeadlineH11", (HeadDeadlineH11,), {"head_timeout_seconds": seconds})


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
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
    )
    return BoundedServer(config)
