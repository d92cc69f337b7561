"""A webhook receiver for the delivery benchmark, run as its own process (as a real receiver is):
in the benchmark's process it would compete with the outbox for the interpreter lock.

Prints its port on the first line of stdout. `POST /in` notes the alert id and the wall-clock
arrival time; `GET /report` answers `{"arrived": {alert_id: first arrival}, "requests": N}`.

This is harness, not the thing under test. It is a small asyncio HTTP/1.1 server (keep-alive,
pipelining-safe, Content-Length and chunked request bodies, Nagle off): the stdlib's
`ThreadingHTTPServer` it replaces topped out near 2,100 requests/s on this 2-core machine against
a bare `http.client` loop, i.e. it was the ceiling of the benchmark rather than the outbox.

    python -m benchmarks.webhook_receiver
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time

arrived: dict[str, float] = {}
requests = 0
MAX_HEAD = 64 * 1024
MAX_BODY = 16 << 20


def _response(status: str, content: bytes, *, close: bool = False) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(content)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + content


class Connection(asyncio.Protocol):
    """One client connection: requests parsed from the byte stream in order, answered in order."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and self._one_request():
            pass

    def _one_request(self) -> bool:
        """Answer the first complete request in the buffer; False when more bytes are needed."""
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEAD:
                self._fail("431 Request Header Fields Too Large")
            return False
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ")
        except ValueError:
            self._fail("400 Bad Request")
            return False
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parsed = _dechunk(self.buffer, start)
            if parsed is None:
                return False
            body, consumed = parsed
        else:
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._fail("413 Content Too Large")
                return False
            if len(self.buffer) < start + length:
                return False
            body, consumed = bytes(self.buffer[start : start + length]), start + length
        del self.buffer[:consumed]
        close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        assert self.transport is not None
        self.transport.write(self._answer(method, target, body, close))
        if close:
            self.transport.close()
            self.transport = None
        return True

    def _answer(self, method: str, target: str, body: bytes, close: bool) -> bytes:
        global requests
        if method == "POST" and target == "/in":
            requests += 1
            arrived.setdefault(json.loads(body)["alert_id"], time.time())
            return _response("200 OK", b"ok", close=close)
        if method == "GET" and target == "/report":
            return _response("200 OK", json.dumps({"arrived": arrived, "requests": requests}).encode(), close=close)
        return _response("404 Not Found", b"", close=close)

    def _fail(self, status: str) -> None:
        assert self.transport is not None
        self.transport.write(_response(status, b"", close=True))
        self.transport.close()
        self.transport = None


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked body starting at `start`: (body, bytes consumed), or None while incomplete."""
    parts: list[bytes] = []
    at = start
    while True:
        eol = buffer.find(b"\r\n", at)
        if eol < 0:
            return None
        size = int(bytes(buffer[at:eol]).split(b";", 1)[0], 16)
        at = eol + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", at)  # no trailers are expected: just the blank line
            return (b"".join(parts), trailer_end + 2) if trailer_end >= 0 else None
        if len(buffer) < at + size + 2:
            return None
        parts.append(bytes(buffer[at : at + size]))
        at += size + 2


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Connection, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    sys.exit(0)


if __name__ == "__main__":
    main()
