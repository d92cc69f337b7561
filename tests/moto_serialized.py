"""moto_server with one request processed at a time.

moto handles requests on threads without locks, so two concurrent UpdateItem ADDs on one item
can lose an increment (seen about once in six runs of the 2x500 test). Real DynamoDB applies
writes to one item atomically; serializing requests gives the emulator that guarantee.
Run: python -m tests.moto_serialized HOST PORT
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
