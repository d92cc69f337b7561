"""Hostile clients against a real `mantissa-log serve` on loopback: memory, time and sockets measured.

Each attack must be refused fast (well under 2 s once the refusal is due) with a 4xx naming the
field, and must not grow the server's resident memory by more than 100 MB.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fixtures_moto import free_port

EXE = str(Path(sys.executable).parent / "mantissa-log")
MB = 1 << 20


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    home: Path
    log: Path
    admin_token: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert match
        return int(match.group(1)) / 1024

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def output_once_it_shows(self, line: str, seconds: float = 30.0) -> str:
        """The output, once `line` is in it (the server writes its access log after answering)."""
        deadline = time.monotonic() + seconds
        while line not in (output := self.output()):
            assert time.monotonic() < deadline, f"{line!r} never appeared in the server's output"
            time.sleep(0.05)
        return output

    def cli(self, *args: str) -> str:
        env = os.environ | {"MANTISSA_HOME": str(self.home)}
        done = subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=120, check=True)
        return done.stdout.strip().splitlines()[-1]


def start_server(home: Path, **env: str) -> Server:
    port = free_port()
    log = home.parent / f"serve-{port}.log"
    environ = os.environ | {"MANTISSA_HOME": str(home)} | env
    with log.open("wb") as out:
        proc = subprocess.Popen([EXE, "serve", "--port", str(port)], env=environ, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)
    token = next(line.strip() for line in log.read_text().splitlines() if line.strip().startswith("mlt_"))
    return Server(proc, port, home, log, token)


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    running = start_server(home, MANTISSA_REQUEST_HEAD_TIMEOUT_SECONDS="1", MANTISSA_BODY_GRACE_SECONDS="1")
    yield running
    stop(running)


@dataclass
class Exchange:
    status: int | None
    answer: bytes
    seconds: float  # until the answer's first bytes arrived
    sent: int


def send_chunked(server: Server, path: str, headers: dict[str, str], total: int, method: str = "PUT") -> Exchange:
    """Stream `total` bytes as a chunked body from one thread while reading the answer in another."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    sent = 0
    chunk = b" " * 65_536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)

    def pump() -> None:
        nonlocal sent
        try:
            while sent < total:
                sock.sendall(frame)
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: what a refusal does

    started = time.monotonic()
    pumping = threading.Thread(target=pump, daemon=True)
    pumping.start()
    answer, first = b"", None
    sock.settimeout(60)
    try:
        while True:
            got = sock.recv(65_536)
            if not got:
                break
            first = first or time.monotonic()
            answer += got
    except OSError:
        pass  # a reset after the answer
    pumping.join(timeout=10)
    sock.close()
    match = re.match(rb"HTTP/1\.1 (\d{3})", answer)
    return Exchange(int(match.group(1)) if match else None, answer, (first or time.monotonic()) - started, sent)


def test_200_mb_chunked_without_a_token_gets_401_at_once_and_costs_no_memory(server: Server) -> None:
    before = server.rss_mb()
    for path in ("/api/v1/settings", "/api/v1/ingest/cloudtrail"):
        result = send_chunked(server, path, {}, 200 * MB)
        assert result.status == 401, result.answer[:300]
        assert b'"unauthenticated"' in result.answer
        assert result.seconds < 2
        assert result.sent < 100 * MB  # the server stopped reading long before the end
    assert server.rss_mb() - before < 100


def test_a_body_over_the_limit_is_cut_off_at_the_limit(server: Server) -> None:
    ingest = server.cli("users", "token", "admin", "--ingest")
    before = server.rss_mb()
    settings = send_chunked(server, "/api/v1/settings", {"Authorization": f"Bearer {server.admin_token}"}, 200 * MB)
    assert settings.status == 413
    assert b'"field":"body"' in settings.answer
    assert b"1048576 bytes" in settings.answer
    assert settings.sent < 100 * MB
    upload = send_chunked(
        server, "/api/v1/ingest/cloudtrail", {"Authorization": f"Bearer {ingest}"}, 300 * MB, method="POST"
    )
    assert upload.status == 413, upload.answer[:300]
    assert b"268435456 bytes" in upload.answer
    assert upload.sent < 290 * MB
    assert server.rss_mb() - before < 100  # spooled to a private file, never held in memory
    deadline = time.monotonic() + 5  # removed as the request unwinds, just after the answer went out
    while list((server.home / "uploads").iterdir()):
        assert time.monotonic() < deadline, "the refused upload's file was left behind"
        time.sleep(0.05)


def trickle(server: Server, head: bytes, body_bytes: int, every: float) -> tuple[float, bytes]:
    """Send `head` then one body byte every `every` seconds; when did the server close, and what did it say."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    started = time.monotonic()
    answer = b""
    try:
        sock.sendall(head)
        for _ in range(body_bytes):
            sock.send(b" ")
            time.sleep(every)
            sock.setblocking(False)
            try:
                got = sock.recv(65_536)
                answer += got
                if not got:
                    break
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
    except OSError:
        pass
    finally:
        sock.close()
    return time.monotonic() - started, answer


def test_a_slow_body_is_cut_off_with_or_without_a_token(server: Server) -> None:
    for auth, status in ((f"Authorization: Bearer {server.admin_token}\r\n", b"408"), ("", b"401")):
        head = f"PUT /api/v1/settings HTTP/1.1\r\nHost: t\r\nContent-Length: 60\r\n{auth}\r\n".encode()
        seconds, answer = trickle(server, head, 60, every=0.5)
        assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
        assert seconds < 4  # cut within about a second (grace 1 s, then 16 KiB/s), not 30 s
        if status == b"408":
            assert b'"field":"body"' in answer


def test_a_slow_request_head_is_cut_off(server: Server) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port))
    started = time.monotonic()
    closed_after = None
    try:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Padding: " + b"a" * 100:
            sock.send(bytes([byte]))
            time.sleep(0.1)
    except OSError:
        closed_after = time.monotonic() - started
    finally:
        sock.close()
    assert closed_after is not None
    assert closed_after < 3  # the head deadline is 1 s here


def test_query_strings_never_reach_the_access_log(server: Server) -> None:
    secret = server.admin_token
    printed = server.output().count(secret)  # the first-run banner shows it
    response = httpx.get(f"{server.base}/api/v1/me?token={secret}&api_key=sk-leak-{secret[-8:]}")
    assert response.status_code == 401  # a token in the URL is not a credential
    output = server.output_once_it_shows('"GET /api/v1/me HTTP/1.1" 401')
    assert output.count(secret) == printed
    assert "sk-leak" not in output


def test_forwarded_for_from_loopback_is_not_trusted(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}", "X-Forwarded-For": "203.0.113.9"}
    assert httpx.get(f"{server.base}/api/v1/settings", headers=headers).status_code == 200
    records = httpx.get(
        f"{server.base}/api/v1/admin/audit?action=settings.read&limit=1",
        headers={"Authorization": f"Bearer {server.admin_token}"},
    ).json()["items"]
    assert records[0]["client"] == "127.0.0.1"
    response = httpx.get(f"{server.base}/healthz")
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_sigterm_stops_the_server_promptly(tmp_path: Path) -> None:
    running = start_server(tmp_path / "home", MANTISSA_BODY_GRACE_SECONDS="1")  # the slow body is cut at 1 s
    idle = socket.create_connection(("127.0.0.1", running.port))
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    slow = socket.create_connection(("127.0.0.1", running.port))
    auth = f"Authorization: Bearer {running.admin_token}\r\n"
    slow.sendall(f"PUT /api/v1/settings HTTP/1.1\r\nHost: t\r\nContent-Length: 99\r\n{auth}\r\n".encode())
    time.sleep(0.3)
    started = time.monotonic()
    running.proc.send_signal(signal.SIGTERM)
    running.proc.wait(timeout=30)
    assert time.monotonic() - started < 3
    idle.close()
    slow.close()


def test_a_malformed_head_gets_our_error_shape(server: Server) -> None:
    for bad in (f"Content-Length: {'9' * 5000}", "Content-Length: -1"):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(f"PUT /api/v1/settings HTTP/1.1\r\nHost: t\r\n{bad}\r\n\r\n".encode())
            sock.settimeout(5)
            answer = b""
            while chunk := sock.recv(65_536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b"x-content-type-options: nosniff" in head.lower()
        assert b'"field": "request"' in body

    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        sock.settimeout(5)
        answer = b""
        while chunk := sock.recv(65_536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b'"field":"headers"' in answer
