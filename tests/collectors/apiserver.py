"""Loopback servers that speak the Okta System Log and GitHub audit log paging protocols (test doubles).

Each holds a list of events, answers pages of them with `Link: rel="next"` cursors, checks the
credential, sends rate-limit headers, and can be told to fail the next requests (429 with
Retry-After, 500) or to report an exhausted rate-limit window.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class ApiState:
    def __init__(self, kind: str, token: str, events: list[dict[str, Any]]) -> None:
        self.kind = kind
        self.token = token
        self.events = events
        self.faults: list[tuple[int, dict[str, str]]] = []  # answered before any page, in order
        self.exhausted_once = False  # the next page says X-Rate-Limit-Remaining: 0
        self.exhausted_seconds = 1  # ... and X-Rate-Limit-Reset this far ahead
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self.base = ""
        self.filtered: list[dict[str, Any]] = events  # the list a cursor pages through
        # Stall the page at this cursor halfway through its body (until `release`), once.
        self.stall_after: int | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()

    def page(self, query: dict[str, list[str]]) -> tuple[list[dict[str, Any]], int | None]:
        size = int(query.get("limit", query.get("per_page", ["100"]))[0])
        start = int(query["after"][0]) if "after" in query else 0
        events = self.events
        phrase = query.get("phrase", [""])[0]
        if phrase.startswith("created:>="):  # GitHub's search qualifier, to the second
            since = datetime.fromisoformat(phrase.removeprefix("created:>=").replace("Z", "+00:00"))
            events = [e for e in events if e["@timestamp"] >= since.timestamp() * 1000]
            self.filtered = events
        elif "after" not in query:
            self.filtered = events
        events = self.filtered
        chunk = events[start : start + size]
        following = start + len(chunk)
        return chunk, following


def _handler(state: ApiState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str], stall: bool = False) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if stall:  # half a page, then nothing until the test says so (the client is killed meanwhile)
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                state.stalled.set()
                state.release.wait(30)
                return
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            with state.lock:
                state.requests.append(self.path)
                expected = f"SSWS {state.token}" if state.kind == "okta" else f"Bearer {state.token}"
                if self.headers.get("Authorization") != expected:
                    self._send(401, {"errorCode": "E0000011", "message": "Invalid token provided"}, {})
                    return
                if state.faults:
                    status, headers = state.faults.pop(0)
                    self._send(status, {"message": "try later"}, headers)
                    return
                path_ok = parts.path == "/api/v1/logs" if state.kind == "okta" else parts.path.endswith("/audit-log")
                if not path_ok:
                    self._send(404, {"message": "Not Found"}, {})
                    return
                events, following = state.page(query)
                size = query.get("limit", query.get("per_page", ["100"]))[0]
                headers = {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "99"}
                headers["X-Rate-Limit-Reset"] = str(int(time.time()) + 60)
                if state.exhausted_once:
                    state.exhausted_once = False
                    headers["X-Rate-Limit-Remaining"] = "0"
                    headers["X-Rate-Limit-Reset"] = str(int(time.time()) + state.exhausted_seconds)
                more = following is not None and following < len(state.filtered)
                if state.kind == "okta" or more:  # Okta links on; GitHub only while more remain
                    key = "limit" if state.kind == "okta" else "per_page"
                    link = f"{state.base}{parts.path}?after={following}&{key}={size}"
                    headers["Link"] = f'<{state.base}{self.path}>; rel="self", <{link}>; rel="next"'
                stall = state.stall_after is not None and query.get("after", [""])[0] == str(state.stall_after)
                if stall:
                    state.stall_after = None
            self._send(200, events, headers, stall=stall)

    return Handler


@contextmanager
def api_server(kind: str, token: str, events: list[dict[str, Any]]) -> Iterator[ApiState]:
    state = ApiState(kind, token, events)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def okta_events(count: int, tag: str = "o") -> list[dict[str, Any]]:
    return [
        {
            "uuid": f"{tag}-{i:05d}",
            "published": f"2026-12-01T09:{(i // 60) % 60:02d}:{i % 60:02d}.000Z",
            "eventType": "user.session.start",
            "actor": {"id": "00u1", "type": "User", "alternateId": "alice@example.com"},
            "outcome": {"result": "SUCCESS"},
        }
        for i in range(count)
    ]


def github_events(count: int, tag: str = "g", offset: int = 0) -> list[dict[str, Any]]:
    start = 1_764_579_600_000  # 2025-12-01T09:00:00Z in ms
    return [
        {
            "_document_id": f"{tag}-{i:05d}",
            "@timestamp": start + (offset + i) * 1000,
            "action": "repo.create",
            "actor": "alice",
            "org": "acme",
        }
        for i in range(count)
    ]
