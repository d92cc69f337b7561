"""Values derived from stored items, remembered by the item's stored text.

The API's busiest read (a user's alert list) turned every row of every page into a dict
(`json.loads`), a validated model and then JSON bytes again: about 20 us per alert, most of a
page's cost, and the same work for the same rows on every request. A stored item's text is the
whole of what such a view depends on (items are canonical JSON, `state/codec.py`; the view is a
pure function of the item), so the text is the cache key: a changed item has a new text and gets
a new view, and nothing needs invalidating. Entries are dropped oldest-used first once the texts
held pass a budget.

Only a backend that has the text (SQLite) uses the cache; others compute each view (`compute`).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

V = TypeVar("V")

# Characters of stored text held (the decoded item and the view cost a few times that again).
DEFAULT_BUDGET_CHARS = 4_000_000


@dataclass
class ViewPage(Generic[V]):
    """A page of a query as views of its items; `next_key` as `Page.next_key`."""

    items: list[V] = field(default_factory=list)
    next_key: dict[str, Any] | None = None


class ItemViews(Generic[V]):
    """`make(item)` for stored items, remembered by their stored JSON text.

    `make` must not change the item it is given, and must depend on nothing but it: the decoded
    item is kept beside the view and handed to the backend's filter and paging as it is.
    """

    def __init__(self, make: Callable[[Mapping[str, Any]], V], *, budget_chars: int = DEFAULT_BUDGET_CHARS) -> None:
        self._make = make
        self._budget = budget_chars
        self._held = 0
        self._entries: OrderedDict[str, tuple[dict[str, Any], V]] = OrderedDict()
        self._lock = threading.Lock()

    def compute(self, item: Mapping[str, Any]) -> V:
        """The view of an item a backend has only decoded (no text to remember it by)."""
        return self._make(item)

    def entry(self, text: str) -> tuple[dict[str, Any], V]:
        """The decoded item and its view, for an item stored as `text`."""
        with self._lock:
            found = self._entries.get(text)
            if found is not None:
                self._entries.move_to_end(text)
                return found
        # Built outside the lock: two threads may both build one entry; either result is the same.
        item: dict[str, Any] = json.loads(text)
        made = (item, self._make(item))
        if len(text) > self._budget:
            return made
        with self._lock:
            if text not in self._entries:
                self._entries[text] = made
                self._held += len(text)
                while self._held > self._budget:
                    old, _ = self._entries.popitem(last=False)
                    self._held -= len(old)
        return made

    def __len__(self) -> int:
        return len(self._entries)
