"""The embedded default: every table in one SQLite file (WAL), items as canonical JSON.

Key and index attributes are copied into columns so lookups use B-tree indexes; the item
itself stays one JSON document. Writes run in `BEGIN IMMEDIATE` transactions, which makes
conditional writes and atomic adds safe across threads and processes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from mantissa_log.clock import SYSTEM_CLOCK, Clock
from mantissa_log.errors import Conflict, StorageFull, StoreError, ValidationFailed, is_no_room
from mantissa_log.state import sqlite_batch
from mantissa_log.state.backend import (
    MISSING,
    TTL_ATTRIBUTE,
    Item,
    Key,
    Page,
    StateBackend,
    TableSpec,
    Update,
    chunks,
    is_expired,
    keep,
)
from mantissa_log.state.codec import decode_value, encode, encode_value
from mantissa_log.state.conditions import Condition, Exists, evaluate
from mantissa_log.state.positions import checked_start_key, position_key
from mantissa_log.state.sql_conditions import PLAIN_NAME, condition_sql
from mantissa_log.state.sqlite_batch import row_key
from mantissa_log.state.views import ItemViews, ViewPage

V = TypeVar("V")
R = TypeVar("R")

# Updates per write transaction in `update_many`: long enough to amortise the commit, short
# enough that other writers (the API, the scheduler) never wait long for the lock.
UPDATE_CHUNK = 100
LIVE = f"({TTL_ATTRIBUTE} IS NULL OR {TTL_ATTRIBUTE} > ?)"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _decode(text: str) -> Item:
    # Items are stored as JSON objects by `encode`: the parse already gives a fresh dict (no copy).
    item: Item = decode_value(text)
    return item


def _plain(text: str) -> tuple[Item, None]:
    return _decode(text), None


def _index_columns(spec: TableSpec) -> list[tuple[str, str, str | None]]:
    """(index name, hash column, range column) for each GSI."""
    out = []
    for i, index in enumerate(spec.indexes):
        out.append((index.name, f"ix{i}_h", f"ix{i}_r" if index.range_key else None))
    return out


class SqliteBackend(StateBackend):
    def __init__(self, path: Path, environment: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = path
        self.environment = environment
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._known: set[str] = set()
        with self._connection() as conn:
            conn.execute("PRAGMA journal_mode=WAL")

    # -- connections ---------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._conn()
        except sqlite3.Error as exc:
            if is_no_room(exc):
                raise StorageFull("the state store's disk is full") from exc
            raise StoreError(f"sqlite: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A serialised write transaction: BEGIN IMMEDIATE takes the write lock up front.

        Threads of this process queue on a Python lock first: SQLite's own busy handler backs
        off with sleeps of up to 100 ms, which turns contention between threads into latency.
        """
        with self._write_lock, self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                # SQLite may have rolled back already (a full disk does): the original error matters.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- schema --------------------------------------------------------------------------
    def _table(self, spec: TableSpec) -> str:
        return _quote(spec.physical_name(self.environment))

    def ensure_tables(self, specs: Sequence[TableSpec]) -> None:
        with self._write() as conn:
            for spec in specs:
                name = spec.physical_name(self.environment)
                rk_type = "INTEGER" if spec.range_key_type == "N" else "TEXT"
                cols = ["hk TEXT NOT NULL", f"rk {rk_type} NOT NULL", "item TEXT NOT NULL", "ttl INTEGER"]
                for _, h, r in _index_columns(spec):
                    cols.append(f"{h} TEXT")
                    if r:
                        cols.append(f"{r} TEXT")
                conn.execute(f"CREATE TABLE IF NOT EXISTS {_quote(name)} ({', '.join(cols)}, PRIMARY KEY (hk, rk))")
                for _, h, r in _index_columns(spec):
                    ix_cols = f"{h}, {r}, hk, rk" if r else f"{h}, hk, rk"
                    conn.execute(f"CREATE INDEX IF NOT EXISTS {_quote(name + '_' + h)} ON {_quote(name)} ({ix_cols})")
                conn.execute(f"CREATE INDEX IF NOT EXISTS {_quote(name + '_ttl')} ON {_quote(name)} (ttl)")
                self._known.add(name)

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _rk(spec: TableSpec, key: Mapping[str, Any]) -> Any:
        return key[spec.range_key] if spec.range_key else ""

    def _row_values(self, spec: TableSpec, item: Mapping[str, Any]) -> list[Any]:
        ttl = item.get(TTL_ATTRIBUTE)
        values: list[Any] = [
            item[spec.hash_key],
            self._rk(spec, item),
            encode(item),
            ttl if isinstance(ttl, int | float) and not isinstance(ttl, bool) else None,
        ]
        for index, _, r in _index_columns(spec):
            ix = spec.index(index)
            values.append(_index_value(item.get(ix.hash_key)))
            if r and ix.range_key:
                values.append(_index_value(item.get(ix.range_key)))
        return values

    def _write_row(self, conn: sqlite3.Connection, spec: TableSpec, item: Mapping[str, Any]) -> None:
        values = self._row_values(spec, item)
        marks = ", ".join("?" for _ in values)
        conn.execute(f"INSERT OR REPLACE INTO {self._table(spec)} VALUES ({marks})", values)

    def _read(self, conn: sqlite3.Connection, spec: TableSpec, key: Key, now: int) -> Item | None:
        row = conn.execute(
            f"SELECT item FROM {self._table(spec)} WHERE hk = ? AND rk = ? AND {LIVE}",
            (key[spec.hash_key], self._rk(spec, key), now),
        ).fetchone()
        return None if row is None else _decode(row[0])

    @staticmethod
    def _check(condition: Condition | None, current: Item | None) -> None:
        if condition is not None and not evaluate(condition, current):
            raise Conflict("the item changed or already exists (condition failed)")

    # -- operations ----------------------------------------------------------------------
    def get(self, table: TableSpec, key: Key) -> Item | None:
        with self._connection() as conn:
            return self._read(conn, table, key, self._now())

    def put(self, table: TableSpec, item: Item, condition: Condition | None = None) -> None:
        with self._write() as conn:
            if condition is not None:
                self._check(condition, self._read(conn, table, table.key_of(item), self._now()))
            self._write_row(conn, table, item)

    def update(
        self,
        table: TableSpec,
        key: Key,
        *,
        set_values: Mapping[str, Any] | None = None,
        add_values: Mapping[str, int | float] | None = None,
        remove: Sequence[str] = (),
        condition: Condition | None = None,
    ) -> Item:
        with self._write() as conn:
            return self._apply(conn, table, Update(key, set_values, add_values, remove, condition), self._now())

    def update_many(self, table: TableSpec, updates: Sequence[Update]) -> list[Item | None]:
        """One write transaction per chunk instead of one per item (the outbox claims and
        records deliveries in batches); each item's condition is still judged on its own."""
        out: list[Item | None] = []
        now = self._now()
        for chunk in chunks(updates, UPDATE_CHUNK):
            with self._write() as conn:
                # Most of a chunk in a statement per shape (`sqlite_batch`); the rest item by item.
                done = self._batch(conn, table).update(chunk, now)
                for u, item in zip(chunk, done, strict=True):
                    if item is not None:
                        out.append(item)
                        continue
                    try:
                        out.append(self._apply(conn, table, u, now))
                    except Conflict:
                        out.append(None)  # nothing of this item was written: the check comes first
        return out

    def _batch(self, conn: sqlite3.Connection, table: TableSpec) -> sqlite_batch.BatchTable:
        return sqlite_batch.BatchTable(conn, self._table(table), table, self._copied(table), _index_value)

    @staticmethod
    def _copied(table: TableSpec) -> list[tuple[str, str]]:
        """(column, attribute) for each column copied from the item: the TTL and the index keys."""
        copied = [("ttl", TTL_ATTRIBUTE)]
        for index, h, r in _index_columns(table):
            ix = table.index(index)
            copied.append((h, ix.hash_key))
            if r and ix.range_key:
                copied.append((r, ix.range_key))
        return copied

    def set_existing(self, table: TableSpec, changes: Sequence[tuple[Key, Mapping[str, Any]]]) -> None:
        """In place where every attribute is already in the stored document (SQLite's `json_set`
        replaces a value where it stands, so the text stays canonical: same keys, same order, and
        every other value keeps its exact text); otherwise read, change and write the item."""
        now = self._now()
        exists = Exists(table.hash_key)
        for chunk in chunks(changes, UPDATE_CHUNK):
            with self._write() as conn:
                updates = [Update(key, values, condition=exists) for key, values in chunk]
                done = self._batch(conn, table).update_in_place(updates, now)
                for (key, values), written in zip(chunk, done, strict=True):
                    if written:
                        continue  # changed by the chunk's statement
                    if self._set_in_place(conn, table, key, values, now):
                        continue
                    with contextlib.suppress(Conflict):  # absent: skipped
                        self._apply(conn, table, Update(key, values, condition=Exists(table.hash_key)), now)

    def _set_in_place(
        self, conn: sqlite3.Connection, table: TableSpec, key: Key, values: Mapping[str, Any], now: int
    ) -> bool:
        """True when the row was changed in place; False when the generic path must decide."""
        keys = {table.hash_key, table.range_key}
        if not values or any(not PLAIN_NAME.fullmatch(n) or n in keys or n == TTL_ATTRIBUTE for n in values):
            return False
        paths: list[str] = []
        params: list[Any] = []
        for name, value in values.items():
            paths.append(f"'$.{name}', json(?)")
            params.append(encode_value(value))
        columns = ""
        for index, h, r in _index_columns(table):
            ix = table.index(index)
            if ix.hash_key in values:
                columns += f", {h} = ?"
                params.append(_index_value(values[ix.hash_key]))
            if r and ix.range_key and ix.range_key in values:
                columns += f", {r} = ?"
                params.append(_index_value(values[ix.range_key]))
        present = " AND ".join(f"json_type(item, '$.{name}') IS NOT NULL" for name in values)
        cursor = conn.execute(
            f"UPDATE {self._table(table)} SET item = json_set(item, {', '.join(paths)}){columns} "
            f"WHERE hk = ? AND rk = ? AND {LIVE} AND {present}",
            [*params, key[table.hash_key], self._rk(table, key), now],
        )
        return cursor.rowcount == 1

    def _apply(self, conn: sqlite3.Connection, table: TableSpec, u: Update, now: int) -> Item:
        current = self._read(conn, table, u.key, now)
        self._check(u.condition, current)
        new = dict(current) if current is not None else dict(u.key)
        for name, value in (u.set_values or {}).items():
            if name in u.key and value != u.key[name]:
                raise StoreError(f"cannot change key attribute {name} with update")
            new[name] = value
        for name, amount in (u.add_values or {}).items():
            base = new.get(name, 0)
            if isinstance(base, bool) or not isinstance(base, int | float):
                raise StoreError(f"cannot add to non-numeric attribute {name}")
            new[name] = base + amount
        for name in u.remove:
            new.pop(name, None)
        self._write_row(conn, table, new)
        return new

    def delete(self, table: TableSpec, key: Key, condition: Condition | None = None) -> bool:
        with self._write() as conn:
            current = self._read(conn, table, key, self._now())
            if condition is not None:
                self._check(condition, current)
            conn.execute(
                f"DELETE FROM {self._table(table)} WHERE hk = ? AND rk = ?",
                (key[table.hash_key], self._rk(table, key)),
            )
            return current is not None

    def query(
        self,
        table: TableSpec,
        hash_value: Any,
        *,
        index: str | None = None,
        range_value: Any = None,
        limit: int | None = None,
        start_key: Key | None = None,
        descending: bool = False,
        range_from: Any = None,
        filter: Condition | None = None,
    ) -> Page:
        kept, next_key = self._query(
            table, hash_value, _plain, index, range_value, limit, start_key, descending, range_from, filter
        )
        return Page(items=[item for item, _ in kept], next_key=next_key)

    def query_views(
        self,
        table: TableSpec,
        hash_value: Any,
        views: ItemViews[V],
        *,
        index: str | None = None,
        range_value: Any = None,
        limit: int | None = None,
        start_key: Key | None = None,
        descending: bool = False,
        range_from: Any = None,
        filter: Condition | None = None,
    ) -> ViewPage[V]:
        # A row whose text was seen before costs a dict lookup: no decoding, no view to build.
        kept, next_key = self._query(
            table, hash_value, views.entry, index, range_value, limit, start_key, descending, range_from, filter
        )
        return ViewPage([view for _, view in kept], next_key)

    def _query(
        self,
        table: TableSpec,
        hash_value: Any,
        decode: Callable[[str], tuple[Item, R]],
        index: str | None,
        range_value: Any,
        limit: int | None,
        start_key: Key | None,
        descending: bool,
        range_from: Any,
        filter: Condition | None,
    ) -> tuple[list[tuple[Item, R]], Key | None]:
        """The rows of a query as `decode(stored text)` gives them, and the key to continue after them."""
        now = self._now()
        if limit is not None and limit < 1:
            raise ValidationFailed("must be at least 1", field="limit")
        if index is None:
            if range_value is not None and not table.range_key:
                raise StoreError(f"table {table.name} has no range key")
            h_col, r_col = "hk", "rk"
            order = ["rk"]
        else:
            spec_cols = {n: (h, r) for n, h, r in _index_columns(table)}
            if index not in spec_cols:
                raise StoreError(f"table {table.name} has no index {index}")
            h_col, maybe_r = spec_cols[index]
            r_col = maybe_r or ""
            order = ([r_col] if r_col else []) + ["hk", "rk"]
            hash_value = _index_value(hash_value)
        where = [f"{h_col} = ?", LIVE]
        params: list[Any] = [hash_value, now]
        in_sql = None if filter is None else condition_sql(filter)
        if in_sql is not None:
            # Judged by SQLite: rows the filter drops are never decoded (the outbox's due read
            # steps over other workers' claims this way). `keep` below still applies; it agrees.
            where.append(f"({in_sql[0]})")
            params.extend(in_sql[1])
        if range_value is not None:
            if not r_col:
                raise StoreError(f"index {index} has no range key")
            where.append(f"{r_col} = ?")
            params.append(range_value if index is None else _index_value(range_value))
        if range_from is not None:
            if not r_col:
                raise StoreError(f"index {index or table.name} has no range key")
            where.append(f"{r_col} >= ?")
            params.append(range_from if index is None else _index_value(range_from))
        direction = " DESC" if descending else ""
        cmp = "<" if descending else ">"
        position: list[Any] | None = None
        if start_key is not None:
            start = checked_start_key(
                table, start_key, index=index, hash_value=hash_value, range_value=range_value, range_from=range_from
            )
            position = self._position(table, index, start)
        # Rows are read in batches; with a filter more batches may be needed to fill the page.
        batch = None if limit is None else (int(limit) + 1 if filter is None or in_sql else max(2 * int(limit), 100))
        kept: list[tuple[Item, R]] = []
        with self._connection() as conn:
            while True:
                clauses, values = list(where), list(params)
                if position is not None:
                    # Row-value comparison continues strictly after the last row already read.
                    clauses.append(f"({', '.join(order)}) {cmp} ({', '.join('?' for _ in order)})")
                    values.extend(position)
                sql = (
                    f"SELECT item, {', '.join(order)} FROM {self._table(table)} WHERE {' AND '.join(clauses)} "
                    f"ORDER BY {', '.join(c + direction for c in order)}"
                )
                if batch is not None:
                    sql += f" LIMIT {batch}"
                rows = conn.execute(sql, values).fetchall()
                for row in rows:
                    decoded = decode(row[0])
                    if keep(decoded[0], filter):
                        kept.append(decoded)
                if batch is None or len(rows) < batch or (limit is not None and len(kept) > limit):
                    break
                position = list(rows[-1][1:])
        next_key = None
        if limit is not None and len(kept) > limit:
            # The same start key DynamoDB gives (table key + index key), so both backends check it alike.
            next_key = position_key(table, index, kept[limit - 1][0])
        return kept[: limit if limit is not None else len(kept)], next_key

    def _position(self, table: TableSpec, index: str | None, key: Key) -> list[Any]:
        """The ORDER BY columns' values of the row with this (checked) start key."""
        rk = self._rk(table, key)
        if index is None:
            return [rk]
        range_key = table.index(index).range_key
        return ([_index_value(key[range_key])] if range_key else []) + [key[table.hash_key], rk]

    def batch_get(self, table: TableSpec, keys: Sequence[Key]) -> list[Item]:
        found: list[Item] = []
        now = self._now()
        with self._connection() as conn:
            for chunk in chunks(keys):
                plain = [row_key(table, key) for key in chunk]
                if not sqlite_batch.BATCH_SQL or any(k is None for k in plain):
                    for key in chunk:
                        item = self._read(conn, table, key, now)
                        if item is not None:
                            found.append(item)
                    continue
                # One statement for the chunk: the keys travel as one JSON array.
                rows = conn.execute(
                    f"SELECT item FROM {self._table(table)} WHERE (hk, rk) IN "
                    f"(SELECT value ->> 0, value ->> 1 FROM json_each(?)) AND {LIVE}",
                    (encode_value(plain), now),
                ).fetchall()
                found.extend(_decode(row[0]) for row in rows)
        return found

    def attribute_values(self, table: TableSpec, hash_values: Sequence[Any], attribute: str) -> dict[Any, list[Any]]:
        if (
            not sqlite_batch.BATCH_SQL
            or not PLAIN_NAME.fullmatch(attribute)
            or not all(isinstance(h, str) for h in hash_values)
        ):
            return super().attribute_values(table, hash_values, attribute)
        wanted = list(dict.fromkeys(hash_values))
        out: dict[Any, list[Any]] = {h: [] for h in wanted}
        now = self._now()
        with self._connection() as conn:
            for chunk in chunks(wanted, UPDATE_CHUNK):
                rows = conn.execute(
                    f"SELECT hk, item -> '$.{attribute}' FROM {self._table(table)} "
                    f"WHERE hk IN (SELECT value FROM json_each(?)) AND {LIVE}",
                    (encode_value(list(chunk)), now),
                ).fetchall()
                for hk, value in rows:
                    out[hk].append(MISSING if value is None else decode_value(value))
        return out

    def batch_put(self, table: TableSpec, items: Sequence[Item]) -> None:
        for chunk in chunks(items):
            with self._write() as conn:
                for item in chunk:
                    self._write_row(conn, table, item)

    def batch_delete(self, table: TableSpec, keys: Sequence[Key]) -> None:
        for chunk in chunks(keys):
            with self._write() as conn:
                for key in chunk:
                    conn.execute(
                        f"DELETE FROM {self._table(table)} WHERE hk = ? AND rk = ?",
                        (key[table.hash_key], self._rk(table, key)),
                    )

    def scan(self, table: TableSpec) -> Iterator[Item]:
        now = self._now()
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT item FROM {self._table(table)} WHERE {LIVE} ORDER BY hk, rk", (now,)
            ).fetchall()
        for row in rows:
            item = _decode(row[0])
            if not is_expired(item, now):
                yield item

    def purge_expired(self, table: TableSpec, now: int) -> int:
        with self._write() as conn:
            cur = conn.execute(f"DELETE FROM {self._table(table)} WHERE ttl IS NOT NULL AND ttl <= ?", (now,))
            return cur.rowcount

    def drop_all(self, specs: Sequence[TableSpec]) -> None:
        with self._write() as conn:
            for spec in specs:
                conn.execute(f"DELETE FROM {self._table(spec)}")


def _index_value(value: Any) -> Any:
    """GSI keys are strings or numbers in DynamoDB; anything else keeps the item out of the index."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        return value
    return None
