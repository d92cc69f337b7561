"""An in-memory DuckDB database set up on a thread, for a hunt.

Setting one up takes 25-50 ms of C++ that releases the interpreter lock. This module imports
nothing but the engine, so that `mantissa-log hunt` can start the set-up before it imports the rest
of the hunt (the sources, the parsers, the rules: 40-60 ms of Python): both then run at once.
"""

from __future__ import annotations

import threading

# The C engine itself: the `duckdb` package re-exports it and adds a Python relational API that
# costs 0.1-0.15 s to import (a fifth of a small hunt). A hunt needs only connect/execute/fetchall.
import _duckdb as duckdb


class PendingDatabase:
    """An in-memory DuckDB database being set up on a thread; `get` waits for it."""

    def __init__(self) -> None:
        self._outcome: list[duckdb.DuckDBPyConnection | duckdb.Error] = []
        self._thread = threading.Thread(target=self._connect, name="hunt-duckdb", daemon=True)
        self._thread.start()

    def _connect(self) -> None:
        try:
            self._outcome.append(duckdb.connect(":memory:"))
        except duckdb.Error as exc:  # raised to the caller of `get`, in its own thread
            self._outcome.append(exc)

    def settle(self) -> None:
        """Wait until the set-up has ended. A process must not reach the interpreter's teardown while
        it runs: the engine's thread then aborts the process (SIGABRT), e.g. after a usage error."""
        self._thread.join()

    def get(self) -> duckdb.DuckDBPyConnection:
        self._thread.join()
        outcome = self._outcome[0]
        if isinstance(outcome, duckdb.Error):
            raise outcome
        return outcome
