"""Views of stored items remembered by their stored text (`state/views.py`), and `query_views`
giving the same items, order and next key as `query` on every backend."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mantissa_log.state.backend import StateBackend
from mantissa_log.state.codec import encode
from mantissa_log.state.conditions import Compare
from mantissa_log.state.tables import DETECTION_RULES, ENABLED_RULES_INDEX
from mantissa_log.state.views import ItemViews


def test_a_view_is_made_once_per_stored_text_and_a_changed_text_gets_a_new_one() -> None:
    made: list[dict[str, Any]] = []

    def make(item: Mapping[str, Any]) -> str:
        made.append(dict(item))
        return f"{item['name']}:{item['n']}"

    views = ItemViews(make)
    one = encode({"name": "a", "n": 1})
    assert views.entry(one) == ({"name": "a", "n": 1}, "a:1")
    assert views.entry(one)[1] == "a:1"
    assert len(made) == 1
    assert views.entry(encode({"name": "a", "n": 2}))[1] == "a:2"  # the item changed: its text too
    assert len(made) == 2
    assert views.compute({"name": "b", "n": 0}) == "b:0"


def test_the_texts_held_stay_within_the_budget_oldest_used_dropped_first() -> None:
    texts = [json.dumps({"k": i, "pad": "x" * 80}) for i in range(10)]
    views = ItemViews(lambda item: item["k"], budget_chars=3 * len(texts[0]))
    for text in texts[:3]:
        views.entry(text)
    views.entry(texts[0])  # used again: now the newest
    views.entry(texts[3])  # over the budget: texts[1] goes
    assert len(views) == 3
    calls: list[int] = []
    counting = ItemViews(lambda item: calls.append(item["k"]) or item["k"], budget_chars=len(texts[0]) - 1)
    counting.entry(texts[0])
    counting.entry(texts[0])
    assert calls == [0, 0]  # a text over the whole budget is never held
    assert len(counting) == 0


def test_query_views_gives_what_query_gives(backend: StateBackend) -> None:
    for n in range(9):
        backend.put(
            DETECTION_RULES,
            {"user_id": "u", "rule_name": f"r{n}", "enabled": "true", "severity": ("high", "low")[n % 2], "n": n},
        )
    views = ItemViews(lambda item: (item["rule_name"], item["n"]))
    for kwargs in (
        {"limit": 2},
        {"limit": 4, "descending": True},
        {"limit": 2, "filter": Compare("severity", "=", "low")},
        {"range_from": "r3", "limit": 3},
        {},
    ):
        for _ in range(2):  # the second time from remembered views where the backend keeps them
            start: dict[str, Any] | None = None
            while True:
                page = backend.query(DETECTION_RULES, "u", start_key=start, **kwargs)  # type: ignore[arg-type]
                viewed = backend.query_views(DETECTION_RULES, "u", views, start_key=start, **kwargs)  # type: ignore[arg-type]
                assert viewed.items == [(i["rule_name"], i["n"]) for i in page.items]
                assert viewed.next_key == page.next_key
                if page.next_key is None:
                    break
                start = page.next_key
    on_index = backend.query_views(DETECTION_RULES, "true", views, index=ENABLED_RULES_INDEX, limit=5)
    assert on_index.items == [
        (i["rule_name"], i["n"])
        for i in backend.query(DETECTION_RULES, "true", index=ENABLED_RULES_INDEX, limit=5).items
    ]
