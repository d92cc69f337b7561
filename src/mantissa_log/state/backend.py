"""The storage interface every backend implements, and the tables it holds.

The operations are the ones DynamoDB offers and the seed's access patterns need: get, put with a
condition, update with atomic add, query by key or index (optionally by range value), batch read
and write, delete, scan (backup) and TTL. Items are plain JSON-compatible dicts; backends convert
to their own representation (DynamoDB Decimals, SQLite JSON text) at their edge.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from mantissa_log.clock import Clock
from mantissa_log.errors import Conflict
from mantissa_log.state.conditions import Condition, Exists, evaluate
from mantissa_log.state.views import ItemViews, ViewPage

V = TypeVar("V")

Item = dict[str, Any]
Key = dict[str, Any]
KeyType = Literal["S", "N"]
BATCH_SIZE = 25  # DynamoDB's BatchWriteItem limit; enforced for every backend alike.
TTL_ATTRIBUTE = "ttl"


class _Missing:
    """The value `attribute_values` gives for an item without the attribute."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: str
    range_key: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """A logical table: `name` is the seed's middle part, e.g. `user-settings`."""

    name: str
    hash_key: str
    range_key: str | None = None
    range_key_type: KeyType = "S"
    indexes: tuple[IndexSpec, ...] = ()

    def physical_name(self, environment: str) -> str:
        return f"mantissa-log-{self.name}-{environment}"

    def key_of(self, item: Mapping[str, Any]) -> Key:
        key = {self.hash_key: item[self.hash_key]}
        if self.range_key:
            key[self.range_key] = item[self.range_key]
        return key

    def index(self, name: str) -> IndexSpec:
        for spec in self.indexes:
            if spec.name == name:
                return spec
        raise KeyError(f"table {self.name} has no index {name}")


@dataclass(frozen=True)
class Update:
    """One conditional update of `StateBackend.update_many` (the arguments of `update`)."""

    key: Key
    set_values: Mapping[str, Any] | None = None
    add_values: Mapping[str, int | float] | None = None
    remove: Sequence[str] = ()
    condition: Condition | None = None


@dataclass
class Page:
    """One page of a query; `next_key` is opaque to callers and None on the last page."""

    items: list[Item] = field(default_factory=list)
    next_key: Key | None = None


class StateBackend(ABC):
    """One store holding every table of one environment.

    TTL (`ttl`, epoch seconds) is judged by the backend's clock (`clock`): the service clock, so
    time-bound items (suppression claims, tokens) expire on the same time line as everything else.
    """

    clock: Clock

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    @abstractmethod
    def ensure_tables(self, specs: Sequence[TableSpec]) -> None:
        """Create missing tables (idempotent). For a shared backend this is provisioning:
        `mantissa-log init` only, with admin rights; normal starts call `missing_tables`."""

    def missing_tables(self, specs: Sequence[TableSpec]) -> list[str]:
        """Physical names of tables that are absent or not ready (read-only: DescribeTable at most).

        The embedded backend creates its own tables, so nothing is ever missing there.
        """
        return []

    @abstractmethod
    def get(self, table: TableSpec, key: Key) -> Item | None:
        """The item, or None when absent or expired."""

    @abstractmethod
    def put(self, table: TableSpec, item: Item, condition: Condition | None = None) -> None:
        """Write the whole item; raise Conflict when `condition` is false."""

    @abstractmethod
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
        """Atomically set, add to (numbers, starting from 0) and remove top-level attributes.

        Creates the item when absent unless the condition says otherwise. Returns the new item.
        Raises Conflict when the condition is false.
        """

    @abstractmethod
    def delete(self, table: TableSpec, key: Key, condition: Condition | None = None) -> bool:
        """Delete; True when an item was there. Raises Conflict when the condition is false."""

    @abstractmethod
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
        """Items with this hash key (on the table or a GSI), ordered by range key.

        `range_from`: only range keys >= this value (a key condition). `filter`: only items for
        which the condition holds; pages are still full (`limit` matching items) and `next_key`
        continues after the last item returned, so filtering never yields short or empty pages
        with a cursor.
        """

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
        """`query`, each item given as its view (`state/views.py`): the same items, order and `next_key`.

        A backend holding each item's stored text (SQLite) remembers views by it; this default
        computes every view.
        """
        page = self.query(
            table,
            hash_value,
            index=index,
            range_value=range_value,
            limit=limit,
            start_key=start_key,
            descending=descending,
            range_from=range_from,
            filter=filter,
        )
        return ViewPage([views.compute(item) for item in page.items], page.next_key)

    @abstractmethod
    def batch_get(self, table: TableSpec, keys: Sequence[Key]) -> list[Item]:
        """Items for the keys that exist, in chunks of 25 requests."""

    @abstractmethod
    def batch_put(self, table: TableSpec, items: Sequence[Item]) -> None:
        """Write many items, in chunks of 25."""

    @abstractmethod
    def batch_delete(self, table: TableSpec, keys: Sequence[Key]) -> None:
        """Delete many items, in chunks of 25."""

    @abstractmethod
    def scan(self, table: TableSpec) -> Iterator[Item]:
        """Every live item (backup, admin)."""

    @abstractmethod
    def purge_expired(self, table: TableSpec, now: int) -> int:
        """Remove items whose `ttl` has passed; returns how many were removed."""

    @abstractmethod
    def drop_all(self, specs: Sequence[TableSpec]) -> None:
        """Remove every item of these tables (restore starts from empty)."""

    def update_many(self, table: TableSpec, updates: Sequence[Update]) -> list[Item | None]:
        """Each update judged on its own: the new item, or None where its condition was false
        (the others still apply). Not atomic as a whole; a store error may leave a prefix applied.

        This default is one `update` per item (DynamoDB has no conditional batch update that lets
        some items fail); SQLite overrides it with one transaction per chunk.
        """
        out: list[Item | None] = []
        for u in updates:
            try:
                out.append(
                    self.update(
                        table,
                        u.key,
                        set_values=u.set_values,
                        add_values=u.add_values,
                        remove=u.remove,
                        condition=u.condition,
                    )
                )
            except Conflict:
                out.append(None)
        return out

    def set_existing(self, table: TableSpec, changes: Sequence[tuple[Key, Mapping[str, Any]]]) -> None:
        """Set top-level attributes on each item that exists; an absent (or expired) item is
        skipped, never created. Each item on its own, like `update_many`; not atomic as a whole.

        This default is `update_many` with an existence condition; SQLite overrides it to change
        the stored document in place when it can (the outbox sets every finished alert's
        delivery status this way)."""
        self.update_many(
            table, [Update(key, set_values=values, condition=Exists(table.hash_key)) for key, values in changes]
        )

    def attribute_values(self, table: TableSpec, hash_values: Sequence[Any], attribute: str) -> dict[Any, list[Any]]:
        """For each hash value, one entry per live item under it: the item's `attribute`, or
        `MISSING` where the item has none (an alert's delivery states, for its summary).

        This default queries each hash value; SQLite overrides it with one statement that
        extracts the attribute in SQL instead of decoding every item."""
        out: dict[Any, list[Any]] = {}
        for hash_value in dict.fromkeys(hash_values):
            out[hash_value] = [item.get(attribute, MISSING) for item in self.query_all(table, hash_value)]
        return out

    def close(self) -> None:  # noqa: B027 - optional hook; most backends hold nothing
        """Release connections."""

    def query_all(self, table: TableSpec, hash_value: Any, **kwargs: Any) -> list[Item]:
        """Every page of a query."""
        items: list[Item] = []
        start: Key | None = None
        while True:
            page = self.query(table, hash_value, start_key=start, **kwargs)
            items.extend(page.items)
            if page.next_key is None:
                return items
            start = page.next_key


def keep(item: Mapping[str, Any], filter: Condition | None) -> bool:
    return filter is None or evaluate(filter, item)


def chunks(seq: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def is_expired(item: Mapping[str, Any], now: int) -> bool:
    ttl = item.get(TTL_ATTRIBUTE)
    return isinstance(ttl, int | float) and not isinstance(ttl, bool) and ttl <= now
