"""The outputs' own HTTP/1.1 transport against real loopback servers: kept-open connections
(counted by the server), reconnects, the guard in front of every send, TLS name checks, limits."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.outputs import connections, http, wire
from mantissa_log.outputs.base import DeliveryResult
from mantissa_log.outputs.connections import HttpClients
from mantissa_log.outputs.http import exchange
from tests.outputs.helpers import localhost_certificates, make_alert, make_ctx, make_integration, send


@dataclass
class Server:
    """A keep-alive HTTP/1.1 server that counts the TCP connections it accepted."""

    port: int
    connections: int = 0
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    # (handler) -> None: writes the answer; default 200 "ok"
    answer: Callable[[BaseHTTPRequestHandler], None] | None = None
    sni: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}"


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if "Transfer-Encoding" not in (headers or {}):
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    state: Server

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with state.lock:
                state.connections += 1

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with state.lock:
                state.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if state.answer is not None:
                state.answer(self)
            else:
                _reply(self, 200, b"ok")

        do_GET = do_POST = do_PUT = _handle  # noqa: N815 - http.server's naming

        def log_message(self, *_: Any) -> None:
            pass

    class Quiet(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client giving up mid-handshake or mid-request is what some tests do

    server = Quiet(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Server(int(server.server_address[1]))
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: state.sni.append(name)  # type: ignore[assignment,misc]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    yield from _serve()


@pytest.fixture
def pool() -> Iterator[HttpClients]:
    clients = HttpClients()
    yield clients
    clients.close()


def test_one_connection_carries_many_sends(server: Server, pool: HttpClients) -> None:
    ctx = make_ctx(http=pool)
    for n in range(20):
        answer = exchange("POST", server.url() + f"/in/{n}", ctx=ctx, content=b'{"n": %d}' % n)
        assert isinstance(answer, wire.Answer)
        assert (answer.status_code, answer.content) == (200, b"ok")
    assert server.connections == 1
    assert (pool.opened, len(pool)) == (1, 1)
    assert [r[1] for r in server.requests] == [f"/in/{n}" for n in range(20)]
    method, _, headers, body = server.requests[-1]
    assert (method, headers["host"], headers["content-length"], body) == (
        "POST",
        f"127.0.0.1:{server.port}",
        "9",
        b'{"n": 19}',
    )


def test_without_a_holder_each_send_has_its_own_connection(server: Server) -> None:
    for _ in range(3):
        assert isinstance(exchange("POST", server.url() + "/in", ctx=make_ctx(), content=b"x"), wire.Answer)
    assert server.connections == 3


def test_a_connection_the_receiver_closed_is_replaced(server: Server, pool: HttpClients) -> None:
    """The receiver closes after each answer without saying so: the next send notices before
    writing (the idle socket reads as closed) and opens a new connection."""

    def answer_and_hang_up(handler: BaseHTTPRequestHandler) -> None:
        _reply(handler, 200, b"ok")
        handler.close_connection = True

    server.answer = answer_and_hang_up
    ctx = make_ctx(http=pool)
    for _ in range(3):
        assert isinstance(exchange("POST", server.url() + "/in", ctx=ctx, content=b"x"), wire.Answer)
    assert server.connections == 3
    assert len(server.requests) == 3


def test_a_close_racing_the_send_is_retried_once_on_a_fresh_connection(
    server: Server, pool: HttpClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The close arrives after the idle check (as it can on a busy network): the request fails
    before any answer, and goes out again on a new connection, once."""

    def answer_and_hang_up(handler: BaseHTTPRequestHandler) -> None:
        _reply(handler, 200, b"ok")
        handler.close_connection = True

    server.answer = answer_and_hang_up
    monkeypatch.setattr(wire.Connection, "looks_closed", lambda self: False)
    ctx = make_ctx(http=pool)
    assert isinstance(exchange("POST", server.url() + "/a", ctx=ctx, content=b"x"), wire.Answer)
    assert isinstance(exchange("POST", server.url() + "/b", ctx=ctx, content=b"x"), wire.Answer)
    assert [r[1] for r in server.requests] == ["/a", "/b"]
    assert server.connections == 2


def test_the_guard_stands_before_kept_open_connections(
    server: Server, pool: HttpClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = exchange("POST", server.url() + "/in", ctx=make_ctx(http=pool, allow_private_targets=False))
    assert isinstance(private, DeliveryResult)
    assert (private.ok, private.retryable) == (False, False)
    assert "loopback" in private.message
    # A name that resolves to the metadata address is refused even with private targets allowed.
    real = socket.getaddrinfo

    def resolver(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    metadata = exchange("POST", f"http://hooks.example:{server.port}/in", ctx=make_ctx(http=pool), content=b"x")
    assert isinstance(metadata, DeliveryResult)
    assert not metadata.retryable
    assert "metadata" in metadata.message
    assert server.connections == 0
    assert pool.opened == 0


def test_a_remembered_guard_answer_is_per_policy(server: Server, pool: HttpClients) -> None:
    """An address approved with private targets allowed is not reused for a send that forbids them."""
    assert isinstance(exchange("POST", server.url() + "/in", ctx=make_ctx(http=pool), content=b"x"), wire.Answer)
    refused = exchange("POST", server.url() + "/in", ctx=make_ctx(http=pool, allow_private_targets=False))
    assert isinstance(refused, DeliveryResult)
    assert "loopback" in refused.message
    assert len(server.requests) == 1


def test_the_body_is_cut_at_the_cap_and_that_connection_is_not_reused(server: Server, pool: HttpClients) -> None:
    big = b"x" * (http.MAX_RESPONSE_BYTES + 4096)
    server.answer = lambda handler: _reply(handler, 200, big)
    ctx = make_ctx(http=pool)
    answer = exchange("GET", server.url() + "/big", ctx=ctx)
    assert isinstance(answer, wire.Answer)
    assert len(answer.content) == http.MAX_RESPONSE_BYTES
    assert len(pool) == 0  # unread bytes remain on it: closed, not pooled
    server.answer = None
    assert isinstance(exchange("GET", server.url() + "/small", ctx=ctx), wire.Answer)
    assert server.connections == 2


def test_chunked_and_gzip_answers_are_read_whole(server: Server, pool: HttpClients) -> None:
    def chunked(handler: BaseHTTPRequestHandler) -> None:
        data = gzip.compress(b'{"dedup_key": "k-1"}')
        handler.send_response(202)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Content-Encoding", "gzip")
        handler.end_headers()
        for piece in (data[:5], data[5:]):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        handler.wfile.write(b"0\r\n\r\n")

    server.answer = chunked
    ctx = make_ctx(http=pool)
    for _ in range(2):
        answer = exchange("POST", server.url() + "/events", ctx=ctx, content=b"{}")
        assert isinstance(answer, wire.Answer)
        assert answer.status_code == 202
        assert answer.json() == {"dedup_key": "k-1"}
    assert server.connections == 1


def test_a_timeout_names_the_setting(server: Server, pool: HttpClients) -> None:
    released = threading.Event()

    def late(handler: BaseHTTPRequestHandler) -> None:
        released.wait(5)
        _reply(handler, 200, b"late")

    server.answer = late
    integration = make_integration("webhook", {"url": server.url() + "/slow", "timeout_seconds": 0.2, "retry_count": 0})
    result = send(make_alert(), integration, make_ctx(http=pool))
    released.set()
    assert (result.ok, result.retryable) == (False, True)
    assert "timed out" in result.message
    assert "config.timeout_seconds" in result.message


def test_an_answer_dripping_in_is_cut_at_the_exchange_deadline(server: Server, pool: HttpClients) -> None:
    """Each read waits at most the timeout, the whole exchange at most three times it: a receiver
    sending a header line every 0.1 s (never idle long enough for one read to time out) is cut
    off at the deadline, not after the 10 s its 100 headers would take."""
    stop = threading.Event()

    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.1):
            try:
                handler.wfile.write(b"X-Drip: 1\r\n")
            except OSError:
                return

    server.answer = drip
    integration = make_integration("webhook", {"url": server.url() + "/drip", "timeout_seconds": 0.3, "retry_count": 0})
    started = time.monotonic()
    result = send(make_alert(), integration, make_ctx(http=pool))
    elapsed = time.monotonic() - started
    stop.set()
    assert (result.ok, result.retryable) == (False, True)
    assert "timed out" in result.message
    assert elapsed < 2.5  # the deadline is 0.9 s; without one, the drip would last 10 s


# -- TLS -------------------------------------------------------------------------------------------
@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """An https server for "localhost", and the outputs trusting its CA (verification stays on)."""
    ca, leaf, key = localhost_certificates(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(leaf, key)
    trusting = ssl.create_default_context(cafile=str(ca))
    monkeypatch.setattr(http, "tls_context", lambda: trusting)
    yield from _serve(server_side)


def test_tls_verifies_the_urls_name_and_sends_it_as_sni(tls_server: Server, pool: HttpClients) -> None:
    ctx = make_ctx(http=pool)
    for _ in range(3):
        answer = exchange("POST", tls_server.url("localhost", "https") + "/in", ctx=ctx, content=b"x")
        assert isinstance(answer, wire.Answer), answer
    assert tls_server.sni == ["localhost"]  # one handshake, for the URL's name (not the address)
    assert tls_server.connections == 1
    assert tls_server.requests[0][2]["host"] == f"localhost:{tls_server.port}"


def test_tls_refuses_a_certificate_for_another_name(tls_server: Server) -> None:
    # The certificate names "localhost"; the URL names the address: the name check fails.
    result = exchange("POST", tls_server.url("127.0.0.1", "https") + "/in", ctx=make_ctx(), content=b"x")
    assert isinstance(result, DeliveryResult)
    assert (result.ok, result.retryable) == (False, True)
    assert "certificate verify failed" in result.message
    assert "not valid for '127.0.0.1'" in result.message
    assert tls_server.requests == []


def test_tls_refuses_an_untrusted_certificate(tls_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "tls_context", connections.tls_context)  # the system's CAs only
    result = exchange("POST", tls_server.url("localhost", "https") + "/in", ctx=make_ctx(), content=b"x")
    assert isinstance(result, DeliveryResult)
    assert "certificate verify failed" in result.message
    assert tls_server.requests == []
