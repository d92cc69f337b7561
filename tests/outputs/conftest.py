"""Real transports on loopback: a scripted HTTP receiver and an aiosmtpd SMTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.outputs.helpers import SMTP_PASSWORD, Mailbox, Receiver, Recorded, SmtpServer, free_port


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver  # set on the per-test subclass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.receiver.reply_for(Recorded(self.command, self.path, headers, body))
        if reply.delay:
            time.sleep(reply.delay)
        data = reply.body
        if isinstance(data, dict | list):
            data = json.dumps(data).encode()
        elif isinstance(data, str):
            data = data.encode()
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (timeout tests)

    do_GET = do_POST = do_PUT = do_PATCH = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    handler: type[_Handler] = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    rec = Receiver(int(server.server_address[1]))
    handler.receiver = rec
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            mailbox.auth.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode(), handled=False)
        return AuthResult(success=False, handled=False)

    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    yield SmtpServer("127.0.0.1", port, mailbox)
    controller.stop()
