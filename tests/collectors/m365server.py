"""A loopback server speaking the Office 365 Management Activity API and its token endpoint (test double).

Token: `POST /{tenant}/oauth2/v2.0/token` (client credentials). Feed: `subscriptions/list`,
`subscriptions/start`, `subscriptions/content` (windows of at most 24 hours, paged two blobs at a
time by the `NextPageUri` header), and the blobs themselves (JSON arrays of audit records).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TENANT = "contoso.example"
ACCESS_TOKEN = "m365-access-token"
PAGE = 2


class M365State:
    def __init__(self, client_secret: str) -> None:
        self.client_secret = client_secret
        self.enabled: set[str] = set()
        self.blobs: dict[str, list[dict[str, Any]]] = {}  # content type -> [{contentId, contentCreated, records}]
        self.requests: list[str] = []
        self.failing: dict[str, int] = {}  # blob id -> how many more requests for it answer 500
        self.stall_blob: str | None = None
        self.stalled = threading.Event()
        self.release = threading.Event()
        self.base = ""

    def add_blob(self, content_type: str, created: datetime, records: list[dict[str, Any]]) -> str:
        blob_id = f"{content_type}-{len(self.blobs.get(content_type, []))}"
        entry = {"contentId": blob_id, "contentCreated": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "records": records}
        self.blobs.setdefault(content_type, []).append(entry)
        return blob_id


def _handler(state: M365State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, stall: bool = False) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if stall:
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                state.stalled.set()
                state.release.wait(30)
                return
            self.wfile.write(data)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append(f"POST {self.path}")
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)).decode()
            if parts.path == f"/{TENANT}/oauth2/v2.0/token":
                form = parse_qs(body)
                if form.get("client_secret") != [state.client_secret] or form.get("grant_type") != [
                    "client_credentials"
                ]:
                    self._send(401, {"error": "invalid_client"})
                    return
                self._send(200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3599})
                return
            if not self._authorized():
                return
            if parts.path.endswith("/subscriptions/start"):
                content_type = parse_qs(parts.query)["contentType"][0]
                state.enabled.add(content_type)
                self._send(200, {"contentType": content_type, "status": "enabled"})
                return
            self._send(404, {"error": "not found"})

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
                self._send(401, {"error": {"code": "AF10001", "message": "no token"}})
                return False
            return True

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.requests.append(f"GET {self.path}")
            if not self._authorized():
                return
            if parts.path.endswith("/subscriptions/list"):
                self._send(
                    200, [{"contentType": t, "status": "enabled", "webhook": None} for t in sorted(state.enabled)]
                )
                return
            if parts.path.endswith("/subscriptions/content"):
                self._content(query)
                return
            if parts.path.startswith("/blobs/"):
                blob_id = parts.path.removeprefix("/blobs/")
                if state.failing.get(blob_id, 0) > 0:
                    state.failing[blob_id] -= 1
                    self._send(500, {"error": "busy"})
                    return
                for blobs in state.blobs.values():
                    for blob in blobs:
                        if blob["contentId"] == blob_id:
                            stall = state.stall_blob == blob_id
                            if stall:
                                state.stall_blob = None
                            self._send(200, blob["records"], stall=stall)
                            return
            self._send(404, {"error": "not found"})

        def _content(self, query: dict[str, list[str]]) -> None:
            content_type = query["contentType"][0]
            if content_type not in state.enabled:
                self._send(400, {"error": {"code": "AF20022", "message": "No subscription found"}})
                return
            start = datetime.fromisoformat(query["startTime"][0])
            end = datetime.fromisoformat(query["endTime"][0])
            if end - start > timedelta(hours=24) or end <= start:
                self._send(
                    400, {"error": {"code": "AF20055", "message": "Start time and end time must both be specified"}}
                )
                return
            offset = int(query.get("nextPage", ["0"])[0])
            inside = [
                b
                for b in state.blobs.get(content_type, [])
                if start <= datetime.fromisoformat(b["contentCreated"].removesuffix("Z").split(".")[0]) < end
            ]
            page = inside[offset : offset + PAGE]
            headers = {}
            if offset + PAGE < len(inside):
                following = dict(query) | {"nextPage": [str(offset + PAGE)]}
                text = "&".join(f"{k}={v[0]}" for k, v in following.items())
                headers["NextPageUri"] = f"{state.base}/api/v1.0/{TENANT}/activity/feed/subscriptions/content?{text}"
            listing = [
                {
                    "contentType": content_type,
                    "contentId": b["contentId"],
                    "contentUri": f"{state.base}/blobs/{b['contentId']}",
                    "contentCreated": b["contentCreated"],
                    "contentExpiration": b["contentCreated"],
                }
                for b in page
            ]
            self._send(200, listing, headers)

    return Handler


@contextmanager
def m365_server(client_secret: str) -> Iterator[M365State]:
    state = M365State(client_secret)
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


def audit_records(count: int, tag: str, when: datetime) -> list[dict[str, Any]]:
    return [
        {
            "Id": f"{tag}-{i:04d}-0000-4000-8000-000000000000",
            "CreationTime": (when + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S"),
            "Operation": "UserLoggedIn",
            "OrganizationId": "aaaabbbb-0000-4000-8000-00000000c0de",
            "RecordType": 15,
            "ResultStatus": "Success",
            "UserId": "alice@contoso.example",
            "Workload": "AzureActiveDirectory",
            "ClientIP": "203.0.113.7",
        }
        for i in range(count)
    ]
