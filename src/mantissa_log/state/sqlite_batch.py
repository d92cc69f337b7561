"""Conditional updates of many SQLite rows in one statement (`BatchTable`, for `update_many`).

The outbox claims and records deliveries in batches; item by item in Python each was a read, a
JSON decode, the condition, an encode and a write (~150 us). Here the updates of a chunk that
share a shape (the attributes set and removed, and the condition with its values: a batch of
claims, a batch of outcomes under one worker's lease) are one `UPDATE ... FROM json_each(?)`:
each row's key and new values travel in one JSON array, the condition is judged in SQL with
`evaluate`'s exact meaning (`sql_conditions`), and `RETURNING` gives the new items.

What this does not write is left to the caller's Python path, which then decides as it always
has (and reads the row again inside the same transaction): a false condition, an absent or
expired item (an update may create it), a change or condition SQL cannot state exactly (adds,
key attributes, names that are not plain, NaN), and every update of a chunk naming one key twice
(they must apply in order).

The stored text stays canonical (`codec.encode`): `json_set` replaces a value where it stands and
`json_remove` keeps the others in order, but an attribute the item did not have is appended, so
such an item is written again in canonical form (its attributes sorted), in the same transaction.
`BatchTable.update_in_place` (for callers that need no new items: `set_existing`) writes only rows that
already hold every attribute set, so nothing is appended and no item is read back or decoded.
"""

from __future__ import annotations

import functools
import math
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from mantissa_log.state.backend import TTL_ATTRIBUTE, Item, TableSpec, Update
from mantissa_log.state.codec import decode_value, encode, encode_value
from mantissa_log.state.conditions import Condition
from mantissa_log.state.sql_conditions import PLAIN_NAME, condition_sql

# The shape of an update that one statement can apply to many rows: set names, removed names,
# condition SQL and its parameters.
Shape = tuple[tuple[str, ...], tuple[str, ...], str, tuple[Any, ...]]

# The statements here need `->`/`->>` (SQLite 3.38), RETURNING (3.35) and UPDATE ... FROM (3.33).
# Python links the system's SQLite, and some still ship older ones (Ubuntu 22.04: 3.37.2): there
# every update, read and summary keeps the item-by-item path, which gives the same results.
BATCH_SQL = sqlite3.sqlite_version_info >= (3, 38, 0)


@dataclass(frozen=True)
class BatchTable:
    """One table's rows as the batch statements address them, on one connection (inside the
    caller's write transaction). `columns`: (column, attribute) for each column copied from the
    item (ttl and index keys); `index_value`: how an index key is stored in its column."""

    conn: sqlite3.Connection
    table_sql: str
    spec: TableSpec
    columns: Sequence[tuple[str, str]]
    index_value: Callable[[Any], Any]

    def update(self, updates: Sequence[Update], now: int) -> list[Item | None]:
        """The new item of each update written here, None for those left to the caller."""
        out: list[Item | None] = [None] * len(updates)
        rewrites: list[tuple[str, Any, Any]] = []
        for number, key, text in self._written(updates, now, in_place=False):
            item: Item = decode_value(cast(str, text))  # RETURNING item
            names_now = list(item)
            if names_now != sorted(names_now):
                rewrites.append((encode(item), *key))
            out[number] = item
        if rewrites:
            self.conn.executemany(f"UPDATE {self.table_sql} SET item = ? WHERE hk = ? AND rk = ?", rewrites)
        return out

    def update_in_place(self, updates: Sequence[Update], now: int) -> list[bool]:
        """`update` for callers that need no new items (the outbox's alert summaries): only rows
        that already have every attribute set are written, so `json_set` replaces values where
        they stand and the text stays canonical without reading the items back. False for the
        others, which are left to the caller."""
        out = [False] * len(updates)
        for number, _, _ in self._written(updates, now, in_place=True):
            out[number] = True
        return out

    def _written(
        self, updates: Sequence[Update], now: int, *, in_place: bool
    ) -> Iterator[tuple[int, tuple[Any, Any], str | None]]:
        """(update number, row key, new item text; None when `in_place`) of each update written."""
        if not BATCH_SQL:
            return
        keys = [row_key(self.spec, u.key) for u in updates]
        if any(k is None for k in keys) or len(set(keys)) < len(keys):
            return
        groups: dict[Shape, list[int]] = {}
        shape: Shape | None = None
        previous: Update | None = None
        for number, u in enumerate(updates):
            # A batch of claims shares one values dict and one condition: the shape (its checks
            # and the condition's SQL) is worked out once for the run, not once per update.
            if previous is None or not _same_parts(u, previous):
                shape = _shape(self.spec, u)
            previous = u
            if shape is not None:
                groups.setdefault(shape, []).append(number)
        for shape, numbers in groups.items():
            names, remove, condition, condition_params = shape
            touched = [(col, attr) for col, attr in self.columns if attr in names or attr in remove]
            rows = []
            for number in numbers:
                values = updates[number].set_values or {}
                hk, rk = keys[number]  # type: ignore[misc]
                rows.append(
                    [hk, rk, *(values[n] for n in names)]
                    + [
                        self.index_value(values.get(attr)) if attr != TTL_ATTRIBUTE else _ttl(values.get(attr))
                        for _, attr in touched
                    ]
                )
            expression = "item"
            if remove:
                expression = f"json_remove(item, {', '.join(_path(n) for n in remove)})"
            if names:
                pairs = ", ".join(f"{_path(n)}, j.value -> {2 + i}" for i, n in enumerate(names))
                expression = f"json_set({expression}, {pairs})"
            sets = [f"item = {expression}"]
            sets += [f"{col} = j.value ->> {2 + len(names) + i}" for i, (col, _) in enumerate(touched)]
            where = f" AND ({condition})" if condition else ""
            if in_place:  # judged on the row before the update: every attribute set is there already
                where += "".join(f" AND json_type(item, {_path(n)}) IS NOT NULL" for n in names)
            found = self.conn.execute(
                f"UPDATE {self.table_sql} SET {', '.join(sets)} FROM json_each(?) AS j "
                f"WHERE hk = j.value ->> 0 AND rk = j.value ->> 1 AND (ttl IS NULL OR ttl > ?){where} "
                f"RETURNING hk, rk, {'NULL' if in_place else 'item'}",
                [encode_value(rows), now, *condition_params],
            ).fetchall()
            by_key = {(hk, rk): text for hk, rk, text in found}
            for number in numbers:
                key = keys[number]
                if key in by_key:  # else not written: the caller's Python path decides
                    yield number, key, by_key[key]


def row_key(spec: TableSpec, key: Mapping[str, Any]) -> tuple[Any, Any] | None:
    """(hk, rk) as the row stores them, or None when the key's types are not the plain ones
    (then the caller keeps its item-by-item path: a JSON array could not match them exactly)."""
    hk = key.get(spec.hash_key)
    if not isinstance(hk, str):
        return None
    if not spec.range_key:
        return hk, ""
    rk = key.get(spec.range_key)
    plain = isinstance(rk, str) if spec.range_key_type == "S" else type(rk) is int and -(2**63) <= rk < 2**63
    return (hk, rk) if plain else None


def _same_parts(u: Update, other: Update) -> bool:
    """Whether two updates hold the very same values, removals and condition (the key aside)."""
    return (
        u.set_values is other.set_values
        and u.add_values is other.add_values
        and u.remove is other.remove
        and u.condition is other.condition
    )


def _shape(spec: TableSpec, u: Update) -> Shape | None:
    if u.add_values:
        return None
    values = u.set_values or {}
    names, remove = tuple(values), tuple(u.remove)
    if not _plain_names(spec, names, remove) or not all(map(_json_exact, values.values())):
        return None
    condition: tuple[str, tuple[Any, ...]] | None = ("", ())
    if u.condition is not None:
        try:
            condition = _condition(u.condition)
        except TypeError:  # a value that cannot be a cache key (a list): not one SQL can compare
            condition = None
    if condition is None:
        return None
    return names, remove, *condition


@functools.lru_cache(maxsize=256)
def _plain_names(spec: TableSpec, names: tuple[str, ...], remove: tuple[str, ...]) -> bool:
    """Each attribute named once, none of them a key attribute, all plain (usable in a JSON path)."""
    every = (*names, *remove)
    keys = {spec.hash_key, spec.range_key}
    return len(set(every)) == len(every) and all(n not in keys and PLAIN_NAME.fullmatch(n) for n in every)


@functools.lru_cache(maxsize=256)
def _condition(condition: Condition) -> tuple[str, tuple[Any, ...]] | None:
    """`condition_sql`, remembered: a batch's claims (or outcomes) share one condition."""
    translated = condition_sql(condition)
    return None if translated is None else (translated[0], tuple(translated[1]))


def _ttl(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _path(name: str) -> str:
    """A plain top-level attribute's JSON path as an SQL literal (names are checked plain first)."""
    return f"'$.{name}'"


def _json_exact(value: Any) -> bool:
    """Whether SQLite's JSON functions take `encode_value(value)` as it is (no NaN or infinity)."""
    if type(value) in (str, int, bool) or value is None:
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(map(_json_exact, value.values()))
    if isinstance(value, list | tuple):
        return all(map(_json_exact, value))
    return True
