"""One HTTP/1.1 exchange on one connection to one address the guard checked: the outputs' transport.

Deliberately small (no proxies, no redirects, no cookies, no HTTP/2): the alert outputs send one
request at a time to a receiver, and the general-purpose client it replaces spent more of the
outbox's time per alert than everything else together. What it does:

- connects to the given address only (`netguard` checked it), with TCP_NODELAY; for https wraps
  the socket with the process's verifying TLS context, `server_hostname` = the URL's host (SNI and
  the certificate's name check are for that name, never for the address);
- writes the request in one `sendall` (the caller's headers validated: token names, ASCII values
  without control characters, so nothing can smuggle a second header or request);
- reads the answer with limits: status line and each header line at most `MAX_LINE` bytes, at most
  `MAX_HEADERS` headers, the body cut at the caller's `max_body` (Content-Length, chunked or
  until close; gzip/deflate decoded within the same cap), interim 1xx answers skipped;
- every socket operation waits at most the caller's timeout, and the whole exchange stops at
  its deadline (a receiver dripping one byte at a time cannot hold the sender past it);
- says afterwards whether the connection may carry another request (`reusable`).

Errors are `WireError` (a network or protocol failure, retryable), `TimeoutError`, `ssl.SSLError`
/ `OSError` from the socket, and `ValueError` for a request we refuse to build.
"""

from __future__ import annotations

import io
import json
import re
import select
import socket
import ssl
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_LINE = 64 * 1024
MAX_HEADERS = 100
READ_CHUNK = 64 * 1024
# Token characters (RFC 9110 section 5.6.2): anything else in a header name is refused.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Visible ASCII, space and tab: no CR/LF (a second header), no NUL, nothing non-ASCII.
_VALUE = re.compile(rb"[\t\x20-\x7e]*")
_NO_BODY_STATUSES = frozenset({204, 304})


class WireError(Exception):
    """The receiver broke HTTP/1.1 or the connection failed mid-exchange: worth retrying."""


class StaleConnection(WireError):
    """A kept-open connection turned out closed before any byte of the answer arrived: the
    request may be sent again on a fresh connection."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: list[tuple[str, str]]  # as received, in order
    content: bytes  # decoded, at most the caller's cap

    def header(self, name: str) -> str | None:
        """The last value of `name` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == wanted:
                return value
        return None

    @property
    def text(self) -> str:
        return self.content.decode(_charset(self.header("content-type")), errors="replace")

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.content)


def _charset(content_type: str | None) -> str:
    if content_type:
        for param in content_type.split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                name = value.strip().strip('"') or "utf-8"
                try:
                    "".encode(name)
                except LookupError:
                    return "utf-8"
                return name
    return "utf-8"


def encode_head(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    """The request line and headers as bytes; ValueError naming the header that cannot be sent."""
    if not _TOKEN.fullmatch(method.encode("ascii", "replace")):
        raise ValueError("the method is not a valid token")
    lines = [f"{method} {target} HTTP/1.1".encode("ascii")]
    for name, value in headers.items():
        raw_name = name.encode("ascii", "replace")
        if not _TOKEN.fullmatch(raw_name):
            raise ValueError(f"header name {name.encode('ascii', 'backslashreplace').decode()!r} is not a valid token")
        try:
            raw_value = value.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"the value of header {name} is not ASCII") from None
        if not _VALUE.fullmatch(raw_value):
            raise ValueError(f"the value of header {name} holds control characters")
        lines.append(raw_name + b": " + raw_value)
    return b"\r\n".join(lines) + b"\r\n\r\n"


class Connection:
    """A connection to `address` for the origin (scheme, host, port). Used by one thread at a time."""

    def __init__(
        self, scheme: str, host: str, port: int, address: str, *, timeout: float, tls: ssl.SSLContext | None
    ) -> None:
        self.key = (scheme, host, port, address)
        self.reused = False
        self.idle_since = time.monotonic()
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect((address, port))
            if scheme == "https":
                if tls is None:
                    raise ValueError("an https connection needs a TLS context")
                sock = tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self.sock: socket.socket = sock
        self.reader: io.BufferedReader = sock.makefile("rb")

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self.sock.close()

    def looks_closed(self) -> bool:
        """An idle connection is readable only if the peer closed it (or broke protocol): drop it."""
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def exchange(
        self, head: bytes, body: bytes | None, *, head_only: bool, timeout: float, deadline: float, max_body: int
    ) -> tuple[Answer, bool]:
        """Send one request, read its answer: (answer, whether the connection may be reused)."""
        self._wait(timeout, deadline)
        try:
            self.sock.sendall(head + body if body else head)
        except (BrokenPipeError, ConnectionResetError) as exc:
            if self.reused:
                raise StaleConnection("the kept-open connection was closed") from exc
            raise
        while True:
            status, version = self._status_line(timeout, deadline)
            headers = self._headers(timeout, deadline)
            if 100 <= status < 200 and status != 101:
                continue  # interim answer (100 Continue, 103 Early Hints): the real one follows
            break
        if status == 101:
            raise WireError("the receiver switched protocols")
        fields = {}
        for name, value in headers:
            fields[name.lower()] = value
        tokens = {t.strip().lower() for t in fields.get("connection", "").split(",")}
        keep = "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)
        if head_only or status in _NO_BODY_STATUSES:
            return Answer(status, headers, b""), keep
        raw, complete = self._body(fields, timeout, deadline, max_body)
        content = _decoded(raw, fields.get("content-encoding", ""), max_body)
        return Answer(status, headers, content), keep and complete

    # -- reading ---------------------------------------------------------------------------
    def _wait(self, timeout: float, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer took too long")
        wanted = min(timeout, left)
        # Setting a socket's timeout is a system call that releases the interpreter lock; with
        # several senders that hand-off costs more than the call. Far from the deadline the
        # wanted value is the per-operation timeout, already set: skip it.
        if wanted != self.sock.gettimeout():
            self.sock.settimeout(wanted)

    def _line(self, timeout: float, deadline: float) -> bytes:
        self._wait(timeout, deadline)
        line = self.reader.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise WireError("the answer has a line over 64 KB")
        return line

    def _status_line(self, timeout: float, deadline: float) -> tuple[int, str]:
        try:
            line = self._line(timeout, deadline)
        except ConnectionResetError as exc:
            if self.reused:
                raise StaleConnection("the kept-open connection was reset") from exc
            raise
        if not line:
            if self.reused:
                raise StaleConnection("the kept-open connection was closed")
            raise WireError("the receiver closed the connection without answering")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
            raise WireError("the receiver's answer is not HTTP/1.x")
        return int(parts[1]), parts[0]

    def _headers(self, timeout: float, deadline: float) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        while True:
            line = self._line(timeout, deadline)
            if line in (b"\r\n", b"\n"):
                return headers
            if not line:
                raise WireError("the connection closed inside the answer's headers")
            if len(headers) >= MAX_HEADERS:
                raise WireError(f"the answer has more than {MAX_HEADERS} headers")
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep or not name or name != name.strip():
                raise WireError("the answer has a malformed header line")
            headers.append((name, value.strip()))

    def _body(self, fields: Mapping[str, str], timeout: float, deadline: float, max_body: int) -> tuple[bytes, bool]:
        """The raw body up to `max_body` bytes, and whether it was read to its end."""
        if "chunked" in fields.get("transfer-encoding", "").lower():
            return self._chunked(timeout, deadline, max_body)
        length_text = fields.get("content-length")
        if length_text is not None:
            try:
                length = int(length_text)
            except ValueError:
                raise WireError("the answer's Content-Length is not a number") from None
            if length < 0:
                raise WireError("the answer's Content-Length is negative")
            data = self._exactly(min(length, max_body), timeout, deadline)
            return data, length <= max_body
        # Neither: the body runs until the receiver closes (never reusable).
        chunks: list[bytes] = []
        size = 0
        while size < max_body:
            self._wait(timeout, deadline)
            chunk = self.reader.read1(min(READ_CHUNK, max_body - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), False

    def _exactly(self, n: int, timeout: float, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while n > 0:
            self._wait(timeout, deadline)
            chunk = self.reader.read1(min(n, READ_CHUNK))
            if not chunk:
                raise WireError("the connection closed inside the answer's body")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _chunked(self, timeout: float, deadline: float, max_body: int) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            line = self._line(timeout, deadline)
            try:
                chunk_size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise WireError("the answer's chunked body is malformed") from None
            if chunk_size < 0:
                raise WireError("the answer's chunked body is malformed")
            if chunk_size == 0:
                self._headers(timeout, deadline)  # trailers, dropped
                return b"".join(chunks), True
            if size + chunk_size > max_body:
                chunks.append(self._exactly(max_body - size, timeout, deadline))
                return b"".join(chunks), False
            chunks.append(self._exactly(chunk_size, timeout, deadline))
            size += chunk_size
            if self._line(timeout, deadline) not in (b"\r\n", b"\n"):
                raise WireError("the answer's chunked body is malformed")


def _decoded(raw: bytes, encoding: str, max_body: int) -> bytes:
    """gzip/deflate bodies decoded up to `max_body` bytes (a small bomb cannot grow past it);
    other encodings are left as they came (we never ask for any)."""
    coding = encoding.strip().lower()
    if not raw or coding not in ("gzip", "x-gzip", "deflate"):
        return raw
    try:
        if coding == "deflate":
            try:
                return zlib.decompressobj().decompress(raw, max_body)
            except zlib.error:
                return zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, max_body)  # raw deflate
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, max_body)
    except zlib.error:
        raise WireError(f"the answer's {coding} body cannot be decoded") from None
