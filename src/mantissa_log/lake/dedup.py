"""Ingest idempotency: the ids of events stored per source within a horizon, beside the lake.

An event's id is its source's natural id (CloudTrail `eventID`, Okta `uuid`, ...) or, without
one, the SHA-256 of its raw text (the `event_id` column of the lake), together with its event
time: a redelivered event has both the same, while sanitized exports that stamp one placeholder id
on many events (seen in public CloudTrail samples) still keep every distinct event. The index
keeps a 63-bit key per (id, time) (the low half of its MD5, computed by DuckDB in both ingest
paths) in small Parquet
files `_ids/source=<s>/<first>-<last>-<uuid>.parquet` (columns `k`, `t` = ingest epoch seconds,
sorted by `k`). Checking a batch is one anti-join in DuckDB: fast for a million events, and for
a small batch the sorted files' row-group statistics skip almost everything.

Sessions are per source and exclusive across processes on this host (`flock`): a session checks
the batch, the caller publishes the events, then `commit` adds their keys. Two concurrent ingests
of one event therefore store it once. A crash between publishing and committing forgets those
keys: re-ingesting that file then stores its events again (at least once, never lost).

A 63-bit key collision between two different events (about 1 in 10^6 at 7 million ids a week)
would drop the second as a duplicate; forging one needs a second preimage of MD5's low half.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from mantissa_log.lake.sql import quote_literal

# Merge a source's key files into one when more than this many have piled up.
MERGE_AFTER_FILES = 32


def key_expression(time_us: str) -> str:
    """The 63-bit key of a row; `time_us` is the row's event time in epoch microseconds (or NULL)."""
    return (
        f"(md5_number_lower(coalesce(event_id, sha256(raw)) || '|' || coalesce(({time_us})::VARCHAR, ''))>> 1)::BIGINT"
    )


@dataclass(frozen=True)
class Filtered:
    """A batch with its duplicates removed: `table` holds the rows to store, in input order."""

    table: str
    kept: int
    duplicates: int
    owned: bool = True  # a table made by the filter (the caller drops it)


class EventIndex:
    def __init__(self, root: Path, horizon: timedelta) -> None:
        self.root = root
        self.horizon = horizon

    def folder(self, source: str) -> Path:
        return self.root / f"source={source}"

    @contextlib.contextmanager
    def session(self, source: str, connection: duckdb.DuckDBPyConnection, now: datetime) -> Iterator[IndexSession]:
        folder = self.folder(source)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / ".lock").open("a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                session = IndexSession(folder, connection, int(now.timestamp()), int(self.horizon.total_seconds()))
                session.prepare()
                yield session
            finally:
                with contextlib.suppress(duckdb.Error):
                    connection.execute("DROP TABLE IF EXISTS dedup_session_keys")
                fcntl.flock(lock, fcntl.LOCK_UN)


class IndexSession:
    def __init__(self, folder: Path, connection: duckdb.DuckDBPyConnection, now: int, horizon: int) -> None:
        self.folder = folder
        self.connection = connection
        self.now = now
        self.horizon = horizon
        self.files: list[Path] = []
        self._batches = 0

    def prepare(self) -> None:
        """Drop expired key files, merge small ones, and start an empty set of this session's keys."""
        live: list[Path] = []
        for path in sorted(self.folder.glob("*.parquet")):
            try:
                last = int(path.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if last < self.now - self.horizon:
                path.unlink(missing_ok=True)
            else:
                live.append(path)
        self.files = live
        if len(live) > MERGE_AFTER_FILES:
            self._merge()
        self.connection.execute("CREATE OR REPLACE TEMP TABLE dedup_session_keys (k BIGINT, t BIGINT)")

    def _reader(self) -> str:
        paths = ", ".join(quote_literal(str(path)) for path in self.files)
        return f"read_parquet([{paths}])"

    def _merge(self) -> None:
        first = min(int(path.name.split("-")[0]) for path in self.files)
        last = max(int(path.name.split("-")[1]) for path in self.files)
        target = self._write(
            f"SELECT k, t FROM {self._reader()} WHERE t >= {self.now - self.horizon}",  # noqa: S608
            first,
            last,
        )
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files = [target]

    def _write(self, select: str, first: int, last: int) -> Path:
        final = self.folder / f"{first}-{last}-{uuid.uuid4().hex}.parquet"
        temporary = self.folder / f".{final.name}.{os.getpid()}.tmp"
        self.connection.execute(
            f"COPY ({select} ORDER BY k) TO {quote_literal(str(temporary))} (FORMAT parquet, COMPRESSION zstd)"
        )
        os.replace(temporary, final)
        return final

    def filter(self, relation: str, time_us: str) -> Filtered:
        """Rows of `relation` (with `raw`, `event_id`, input order `n`, `pos`) not seen before:
        neither in the index within the horizon, nor earlier in this batch or session. `time_us`
        reads a row's event time in epoch microseconds.

        A horizon of zero turns deduplication off: every row is kept."""
        self._batches += 1
        if self.horizon <= 0:
            everything = self.connection.execute(f"SELECT count(*) FROM {relation}").fetchone()  # noqa: S608
            return Filtered(relation, int(everything[0]) if everything else 0, 0, owned=False)
        # Keys first, without the events' text: the common batch has no duplicate at all, and then the
        # relation itself is the answer (copying every event into a sorted table was 2 s per 100k).
        keys = f"dedup_keys_{self._batches}"
        dropped = f"dedup_dropped_{self._batches}"
        known = "SELECT k FROM dedup_session_keys"
        if self.files:
            known += f" UNION ALL SELECT k FROM {self._reader()} WHERE t >= {self.now - self.horizon}"  # noqa: S608
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {keys} AS SELECT n, pos, {key_expression(time_us)} AS k FROM {relation}"  # noqa: S608
        )
        # Dropped: a repeat within the batch (all but its first by input order), or a key seen before.
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {dropped} AS SELECT n, pos FROM ("  # noqa: S608
            f"  SELECT n, pos, k, row_number() OVER (PARTITION BY k ORDER BY n, pos) AS seen FROM {keys}"
            f") WHERE seen > 1 OR k IN ({known})"
        )
        counts = f"SELECT (SELECT count(*) FROM {keys}), count(*) FROM {dropped}"  # noqa: S608
        counted = self.connection.execute(counts).fetchone()
        total, duplicates = (int(counted[0]), int(counted[1])) if counted else (0, 0)
        kept_keys = (
            f"SELECT k FROM {keys} AS a "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {dropped} AS d WHERE d.n = a.n AND d.pos = a.pos)"
        )
        self.connection.execute(f"INSERT INTO dedup_session_keys SELECT k, {self.now} FROM ({kept_keys})")  # noqa: S608
        if not duplicates:
            self.connection.execute(f"DROP TABLE {keys}; DROP TABLE {dropped}")
            return Filtered(relation, total, 0, owned=False)
        table = f"dedup_kept_{self._batches}"
        self.connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {relation} AS r "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {dropped} AS d WHERE d.n = r.n AND d.pos = r.pos) ORDER BY n, pos"
        )
        self.connection.execute(f"DROP TABLE {keys}; DROP TABLE {dropped}")
        return Filtered(table, total - duplicates, duplicates)

    def commit(self) -> None:
        """Add this session's keys to the index (after the events were published)."""
        if self.horizon <= 0:
            return
        counted = self.connection.execute("SELECT count(*) FROM dedup_session_keys").fetchone()
        if counted and counted[0]:
            self._write("SELECT k, t FROM dedup_session_keys", self.now, self.now)
