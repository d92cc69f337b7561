"""An in-memory DuckDB database set up on a thread, for a hunt.

Setting one up takes 25-50 ms of C++ that releases the interpreter lock. This module imports
nothing but the engine (and that only when the set-up starts), so that `mantissa-log hunt` can start
the set-up before it imports the rest of the hunt (the sources, the parsers, the rules: 40-60 ms of
Python): both then run at once. A hunt over a tiny input starts it only if it needs it (`text_scan`).
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The C engine itself: the `duckdb` package re-exports it and adds a Python relational API that
    # costs 0.1-0.15 s to import (a fifth of a small hunt). A hunt needs only connect/execute/fetchall.
    # It is imported when the set-up starts: a tiny hunt may never need it (`text_scan`).
    import _duckdb as duckdb

# Lines split from a text, read as JSON into a struct, a lambda over a JSON list, counts per group:
# what `lake.detect.hunt` asks of every scan. It reads nothing and writes nothing.
WARM_UP = """
SELECT fid, count(*) FILTER (WHERE lower(e."a") = 'x' OR list_bool_or(list_transform(
    json_extract_string(e."b", '$[*]'), lambda v: contains(lower(v), 'y'))))
FROM (
    SELECT fid, CAST(json_transform(line, '{"a":"VARCHAR","b":"JSON"}') AS STRUCT("a" VARCHAR, "b" JSON)) AS e
    FROM (SELECT unnest(string_split('1,2', ','))::INTEGER AS fid,
                 unnest(string_split('{"a":"X"}' || chr(10) || '{"b":["Y"]}', chr(10))) AS line)
)
GROUP BY fid
"""


class PendingDatabase:
    """An in-memory DuckDB database being set up on a thread; `get` waits for it.

    With `start=False` nothing happens until `start` or `get`: for a hunt that may never need it."""

    def __init__(self, *, start: bool = True) -> None:
        self._outcome: list[duckdb.DuckDBPyConnection | duckdb.Error] = []
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    def start(self) -> None:
        """Start the set-up (once). The engine is imported here, on the caller's thread: importing it
        holds the interpreter lock either way, and a thread importing while another does would only
        take turns with it."""
        if self._thread is None:
            import _duckdb  # noqa: F401 (imported here, not at the top: see the class)

            self._thread = threading.Thread(target=self._connect, name="hunt-duckdb", daemon=True)
            self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def _connect(self) -> None:
        import _duckdb as duckdb

        try:
            connection = duckdb.connect(":memory:")
        except duckdb.Error as exc:  # raised to the caller of `get`, in its own thread
            self._outcome.append(exc)
            return
        with contextlib.suppress(duckdb.Error):  # only time is lost: the hunt's own queries say what is wrong
            connection.execute(WARM_UP).fetchall()
        self._outcome.append(connection)

    def settle(self) -> None:
        """Wait until the set-up has ended, if it started. A process must not reach the interpreter's
        teardown while it runs: the engine's thread then aborts the process (SIGABRT), e.g. after a
        usage error."""
        if self._thread is not None:
            self._thread.join()

    def get(self) -> duckdb.DuckDBPyConnection:
        outcome = self._settled()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def close(self) -> None:
        """Close the database (once set up), freeing its memory: 6-11 ms after a small hunt, which a
        process about to end (the `hunt` command) skips by never calling this. Nothing to do when it
        never started."""
        if self._thread is None:
            return
        outcome = self._settled()
        if not isinstance(outcome, BaseException):
            outcome.close()

    def _settled(self) -> duckdb.DuckDBPyConnection | duckdb.Error:
        self.start()
        assert self._thread is not None
        self._thread.join()
        return self._outcome[0]
