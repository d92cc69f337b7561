"""Collectors over HTTPS, as every real API is (Okta, GitHub, Google, Microsoft): the connection goes to
a checked address, and the certificate is still verified against the URL's host name."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.services.collectors import http
from tests.outputs.helpers import localhost_certificates


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f'{{"host": "{self.headers.get("Host")}"}}'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def https_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """An https server on loopback whose certificate names "localhost" only, and the collectors
    trusting its CA (verification stays on)."""
    ca, leaf, key = localhost_certificates(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(leaf, key)
    trusting = ssl.create_default_context(cafile=str(ca))
    monkeypatch.setattr(http, "_tls_context", lambda: trusting)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.socket = server_side.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_pinned_https_request_verifies_the_host_name(https_port: int) -> None:
    answer = http.get(f"https://localhost:{https_port}/api/v1/logs", {}, allow_private=True)
    assert answer.status == 200
    assert answer.body == f'{{"host": "localhost:{https_port}"}}'.encode()


def test_a_certificate_for_another_name_is_refused(https_port: int) -> None:
    # The same server, reached by its address: the certificate does not name 127.0.0.1.
    with pytest.raises(http.FetchFailed, match="cannot connect"):
        http.get(f"https://127.0.0.1:{https_port}/api/v1/logs", {}, allow_private=True)
