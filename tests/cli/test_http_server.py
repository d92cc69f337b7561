"""How `serve` runs uvicorn: query strings kept out of the access log, and a shutdown that always ends."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

from mantissa_log.cli.http_server import HeadDeadlineHttpTools, NoQueryStrings, build_server, log_config
from mantissa_log.config import Settings
from tests.fixtures_moto import free_port


def test_the_access_log_keeps_the_path_and_drops_the_query() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/me?token=mlt_secret&x=1", "1.1", 401),
        None,
    )
    assert NoQueryStrings().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/v1/me HTTP/1.1" 401'
    assert log_config()["loggers"]["uvicorn.access"]["filters"] == ["no_query_strings"]


STUCK_SERVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from mantissa_log.cli.http_server import build_server
    from mantissa_log.config import Settings

    async def app(scope, receive, send):
        if scope["type"] == "http":
            (Path(sys.argv[2]) / "handler-started").touch()  # the test signals only from then on
            time.sleep(600)  # a handler that blocks the event loop: nothing graceful can finish

    settings = Settings(home=sys.argv[2], shutdown_grace_seconds=1)
    build_server(app, "127.0.0.1", int(sys.argv[1]), settings).run()
    """
)


def test_a_stuck_server_still_exits_soon_after_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK_SERVER, str(port), str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        client.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        while not (tmp_path / "handler-started").exists():  # then the handler is blocking the loop
            assert time.monotonic() < deadline, "the request never reached the handler"
            time.sleep(0.05)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        # Grace (1 s) + the watchdog's margin (3 s), not the handler's 600 s.
        assert time.monotonic() - started < 6
        assert code == 128 + signal.SIGTERM
        client.close()
    finally:
        proc.kill()
        proc.wait()


def test_a_request_head_may_not_trickle(tmp_path: Path) -> None:
    port = free_port()
    script = textwrap.dedent(
        """
        import sys
        from mantissa_log.cli.http_server import build_server
        from mantissa_log.config import Settings

        async def app(scope, receive, send):
            if scope["type"] == "http":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"ok"})

        settings = Settings(home=sys.argv[2], request_head_timeout_seconds=1.0)
        build_server(app, "127.0.0.1", int(sys.argv[1]), settings).run()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(port), str(tmp_path)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/", timeout=1).text == "ok"
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        # A whole head in time is served, on a fresh connection and again on a kept-alive one.
        with socket.create_connection(("127.0.0.1", port)) as kept:
            for _ in range(2):
                kept.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                answer = b""
                while not answer.endswith(b"0\r\n\r\n"):  # the end of the chunked answer
                    answer += kept.recv(4096)
                assert answer.startswith(b"HTTP/1.1 200")
                time.sleep(0.1)
        # A head trickling in is cut off at the deadline, idle or mid-way.
        for prefix in (b"", b"GET / HT"):
            with socket.create_connection(("127.0.0.1", port)) as slow:
                slow.sendall(prefix)
                slow.settimeout(5)
                started = time.monotonic()
                assert slow.recv(4096) == b""
                assert time.monotonic() - started < 3  # the deadline is 1 s
    finally:
        proc.terminate()
        proc.wait(timeout=30)


PACED_SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from mantissa_log.cli.http_server import build_server
    from mantissa_log.config import Settings

    async def app(scope, receive, send):
        if scope["type"] == "http":
            if scope["path"] == "/slow":
                await asyncio.sleep(2.0)  # longer than the head deadline
            body = scope["path"].encode()
            headers = [(b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

    settings = Settings(home=sys.argv[2], request_head_timeout_seconds=1.0)
    build_server(app, "127.0.0.1", int(sys.argv[1]), settings).run()
    """
)


def _read_until_closed(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    answer = b""
    while chunk := sock.recv(65_536):
        answer += chunk
    return answer


def test_a_head_over_16_kib_in_pieces_is_refused_and_pipelined_requests_are_served(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", PACED_SERVER, str(port), str(tmp_path)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/up", timeout=1).text == "/up"
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        # A head still incomplete past 16 KiB, arriving in pieces: a 400 in our error shape, closed.
        with socket.create_connection(("127.0.0.1", port)) as big:
            big.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 9_000)
            time.sleep(0.2)
            big.sendall(b"a" * 9_000)
            head, _, body = _read_until_closed(big).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), head
        assert b"x-content-type-options: nosniff" in head.lower()
        assert b'"field": "request"' in body
        # Pipelined: the second request (slower than the head deadline) is answered, not cut off,
        # and the connection is closed only once the next head is overdue.
        with socket.create_connection(("127.0.0.1", port)) as piped:
            piped.sendall(b"GET /fast HTTP/1.1\r\nHost: t\r\n\r\nGET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            answer = _read_until_closed(piped)
        assert answer.count(b"HTTP/1.1 200") == 2, answer
        assert answer.endswith(b"/slow")
        # Malformed request line: our 400.
        with socket.create_connection(("127.0.0.1", port)) as bad:
            bad.sendall(b"GET / HTTP/9.x\r\nHost: t\r\n\r\n")
            assert _read_until_closed(bad).startswith(b"HTTP/1.1 400")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_parses_with_httptools(tmp_path: Path) -> None:
    async def app(scope: object, receive: object, send: object) -> None:  # never called
        return None

    server = build_server(app, "127.0.0.1", 0, Settings(home=tmp_path))
    http = server.config.http
    assert isinstance(http, type)
    assert issubclass(http, HeadDeadlineHttpTools)
