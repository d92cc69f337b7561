"""Connections kept open per destination, so a busy outbox pays neither a TCP (and TLS) handshake
nor a name resolution for every alert.

Idle connections (`wire.Connection`) are pooled per (scheme, host name, port, checked address):
a connection is only ever reused for the name its TLS session was verified for, and for the
address the guard approved (two names sharing an address never share a connection; a redirect to
another origin uses that origin's own connections). A connection idle for `KEEPALIVE_SECONDS`, or
one the receiver closed meanwhile, is dropped instead of reused; at most `MAX_IDLE` wait per key.

The guard's answer for a host (`netguard.check_host`: every address it resolves to, each judged)
is remembered for `GUARD_SECONDS`, so a host is resolved and judged once per few seconds instead
of once per alert. Only addresses the guard approved are ever connected to, whether remembered or
fresh; remembering only delays noticing a changed DNS answer by those few seconds.

The holder (the outbox) closes every connection when it stops; without a holder, an output opens
a connection for one send and closes it after, as before.
"""

from __future__ import annotations

import functools
import ssl
import threading
import time
from collections.abc import Callable

from mantissa_log.outputs import netguard
from mantissa_log.outputs.wire import Connection

KEEPALIVE_SECONDS = 5.0
GUARD_SECONDS = 5.0
# Per destination: as many idle connections as the outbox has sending threads is plenty.
MAX_IDLE = 16
Key = tuple[str, str, int, str]  # scheme, host name, port, checked address


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for the process: loading the CA bundle costs ~15 ms a time.
    Certificates are verified and their names checked (`create_default_context`)."""
    return ssl.create_default_context()


class HttpClients:
    """Thread-safe: the outbox's sending threads share it; each connection is lent to one at a time."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle: dict[Key, list[Connection]] = {}
        self._checked: dict[tuple[str, int, bool], tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._clock = clock
        self.opened = 0  # connections opened since start (tests and benchmarks read it)

    def target(self, url: str, *, allow_private: bool) -> netguard.Target:
        """`netguard.resolve_target`, with the host's checked addresses remembered for a while.
        The URL itself (scheme, host, credentials) is checked every time."""
        _, host, port = netguard.parse_target(url)
        key = (host, port, allow_private)
        now = self._clock()
        with self._lock:
            known = self._checked.get(key)
        if known is not None and now - known[0] < GUARD_SECONDS:
            return netguard.Target(host=host, addresses=known[1], port=port)
        addresses = netguard.check_host(host, port, allow_private=allow_private)
        with self._lock:
            self._checked[key] = (now, addresses)
        return netguard.Target(host=host, addresses=addresses, port=port)

    def take(self, key: Key) -> Connection | None:
        """An idle connection for `key` still fit to use, or None (the caller opens one)."""
        now = self._clock()
        while True:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the connection pools are closed")
                idle = self._idle.get(key)
                connection = idle.pop() if idle else None
            if connection is None:
                return None
            if now - connection.idle_since < KEEPALIVE_SECONDS and not connection.looks_closed():
                connection.reused = True
                return connection
            connection.close()

    def opened_one(self) -> None:
        with self._lock:
            self.opened += 1

    def give_back(self, connection: Connection) -> None:
        """Keep `connection` for the next send to its key (or close it when the pool is full or shut)."""
        connection.idle_since = self._clock()
        with self._lock:
            idle = self._idle.setdefault(connection.key, [])
            if not self._closed and len(idle) < MAX_IDLE:
                idle.append(connection)
                return
        connection.close()

    def __len__(self) -> int:
        """Idle connections held now."""
        with self._lock:
            return sum(len(idle) for idle in self._idle.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = [c for cs in self._idle.values() for c in cs], {}
        for connection in idle:
            connection.close()
