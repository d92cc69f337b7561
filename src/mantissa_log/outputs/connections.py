"""Connections kept open per destination, so a busy outbox does not pay a TCP (and TLS)
handshake for every alert.

One `httpx.Client` per origin (scheme, host name, port) of the URL the user configured or a
redirect named. Requests go to the address `netguard` checked (the host in the request URL is
that address), so connections in a pool are keyed by address; keeping one client per *host
name* means a pooled connection is only ever reused for the name its TLS session was verified
for (two names sharing an address never share a connection, and a redirect to another origin
uses that origin's own client). Idle connections close after `KEEPALIVE_SECONDS`.

The holder (the outbox) closes every client when it stops; without a holder, `request` opens a
client for one send and closes it after, as before.
"""

from __future__ import annotations

import functools
import ssl
import threading

import httpx

KEEPALIVE_SECONDS = 5.0
# Per destination: as many connections as the outbox has sending threads is plenty.
MAX_CONNECTIONS = 16
Origin = tuple[str, str, int | None]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for the process: loading the CA bundle costs ~15 ms a time."""
    return ssl.create_default_context()


def new_client() -> httpx.Client:
    # Proxies from the environment are ignored: a proxy would resolve names itself and defeat
    # the guard. Timeouts are given per request.
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        verify=tls_context(),
        limits=httpx.Limits(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
    )


class HttpClients:
    """Thread-safe: the outbox's sending threads share it."""

    def __init__(self) -> None:
        self._clients: dict[Origin, httpx.Client] = {}
        self._lock = threading.Lock()
        self._closed = False

    def for_origin(self, origin: Origin) -> httpx.Client:
        with self._lock:
            if self._closed:
                raise RuntimeError("the connection pools are closed")
            client = self._clients.get(origin)
            if client is None:
                client = self._clients[origin] = new_client()
            return client

    def __len__(self) -> int:
        return len(self._clients)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
