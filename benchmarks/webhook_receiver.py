"""A webhook receiver for the delivery benchmark, run as its own process (as a real receiver is):
in the benchmark's process it would compete with the outbox for the interpreter lock.

Prints its port on the first line of stdout. `POST /in` notes the alert id and the wall-clock
arrival time; `GET /report` answers `{"arrived": {alert_id: first arrival}, "requests": N}`.

    python -m benchmarks.webhook_receiver
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

arrived: dict[str, float] = {}
requests = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the outbox keeps its connections open
    # Headers and body go out in two writes: with Nagle's algorithm the body would wait for the
    # client's delayed ACK (~40 ms) on a kept-open connection, as no real server lets happen.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        global requests
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        alert_id = json.loads(body)["alert_id"]
        with lock:
            requests += 1
            arrived.setdefault(alert_id, time.time())
        self._answer(b"ok")

    def do_GET(self) -> None:
        with lock:
            self._answer(json.dumps({"arrived": arrived, "requests": requests}).encode())

    def _answer(self, content: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *_: Any) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
