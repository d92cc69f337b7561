"""A loopback server speaking Google's OAuth JWT-bearer token exchange and the Reports API (test double).

The token endpoint verifies the assertion's RS256 signature with the service account's public
key, its audience, subject and scope. Activities are answered newest first within
[startTime, endTime), `maxResults` at a time, paged by `nextPageToken`.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ACCESS_TOKEN = "ya29.workspace-token"
ADMIN = "it.admin@contoso.example"


def service_account_key() -> tuple[str, rsa.RSAPublicKey]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = {
        "type": "service_account",
        "client_email": "collector@project.iam.gserviceaccount.com",
        "private_key": pem,
        "token_uri": "http://169.254.169.254/token",  # never followed: the configured token_url is
    }
    return json.dumps(key), private.public_key()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class WorkspaceState:
    def __init__(self, public_key: rsa.RSAPublicKey) -> None:
        self.public_key = public_key
        self.activities: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[str] = []
        self.base = ""

    def add(self, application: str, when: datetime, tag: str) -> dict[str, Any]:
        activity = {
            "kind": "admin#reports#activity",
            "id": {
                "time": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "uniqueQualifier": f"{tag}",
                "applicationName": application,
                "customerId": "C03az79cb",
            },
            "actor": {"callerType": "USER", "email": ADMIN, "profileId": "1149"},
            "ipAddress": "203.0.113.7",
            "events": [{"type": "LOGIN", "name": "login_success", "parameters": []}],
        }
        self.activities.setdefault(application, []).append(activity)
        return activity


def _handler(state: WorkspaceState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            state.requests.append(f"POST {self.path}")
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
            assertion = form.get("assertion", [""])[0]
            try:
                head, claims_text, signature = assertion.split(".")
                state.public_key.verify(
                    _unb64(signature), f"{head}.{claims_text}".encode(), padding.PKCS1v15(), hashes.SHA256()
                )
                claims = json.loads(_unb64(claims_text))
            except (ValueError, InvalidSignature):
                self._send(400, {"error": "invalid_grant"})
                return
            if (
                claims.get("sub") != ADMIN
                or claims.get("aud") != f"{state.base}/token"
                or "reports" not in claims.get("scope", "")
            ):
                self._send(400, {"error": "invalid_grant", "error_description": "claims"})
                return
            self._send(200, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3599})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            state.requests.append(f"GET {self.path}")
            if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
                self._send(401, {"error": {"code": 401, "message": "Login Required"}})
                return
            application = parts.path.rsplit("/", 1)[-1]
            start = datetime.fromisoformat(query["startTime"][0].replace("Z", "+00:00"))
            end = datetime.fromisoformat(query["endTime"][0].replace("Z", "+00:00"))
            inside = [
                a
                for a in state.activities.get(application, [])
                if start <= datetime.fromisoformat(a["id"]["time"].replace("Z", "+00:00")) < end
            ]
            inside.sort(key=lambda a: a["id"]["time"], reverse=True)  # newest first, as Google answers
            size = int(query.get("maxResults", ["1000"])[0])
            offset = int(query.get("pageToken", ["0"])[0])
            page: dict[str, Any] = {"kind": "admin#reports#activities", "items": inside[offset : offset + size]}
            if offset + size < len(inside):
                page["nextPageToken"] = str(offset + size)
            if not page["items"]:
                del page["items"]  # Google leaves `items` out of an empty answer
            self._send(200, page)

    return Handler


@contextmanager
def workspace_server(public_key: rsa.RSAPublicKey) -> Iterator[WorkspaceState]:
    state = WorkspaceState(public_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def hours_after(start: datetime, hours: float) -> datetime:
    return start + timedelta(hours=hours)
