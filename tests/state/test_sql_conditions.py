"""Conditions judged in SQL (`state/sql_conditions.py`, SQLite's batched `update_many`) mean exactly
what `conditions.evaluate` means (DynamoDB's rules), and both backends give the same answers."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.state import sqlite_batch
from mantissa_log.state.backend import StateBackend, Update
from mantissa_log.state.codec import encode
from mantissa_log.state.conditions import (
    And,
    Compare,
    CompareOp,
    Condition,
    Exists,
    NotExists,
    Or,
    all_of,
    any_of,
    evaluate,
)
from mantissa_log.state.sql_conditions import condition_sql
from mantissa_log.state.sqlite_backend import SqliteBackend
from mantissa_log.state.tables import DELIVERIES, DUE_DELIVERIES_INDEX
from tests.fixtures_state import make_backend

OPS: tuple[CompareOp, ...] = ("=", "<>", "<", "<=", ">", ">=")
# What an item may hold, and what a condition may compare it with: strings (incl. ones that
# order differently by code point than by locale), ints, floats, booleans, null, lists, maps.
STORED: list[Any] = ["b", "B", "é", "😀", "", "10", 10, 9.5, 10.0, -1, 0, True, False, None, [1], {"a": 1}]
OPERANDS: list[Any] = ["b", "é", "10", "", 10, 9.5, 0, True, False, None, [1]]


def sql_truth(condition: Condition, item: dict[str, Any]) -> bool | None:
    translated = condition_sql(condition)
    if translated is None:
        return None
    conn = sqlite3.connect(":memory:")
    try:
        sql, params = translated
        row = conn.execute(f"SELECT ({sql}) FROM (SELECT ? AS item)", [*params, encode(item)]).fetchone()  # noqa: S608
    finally:
        conn.close()
    return bool(row[0])


def test_every_comparison_means_in_sql_what_evaluate_means() -> None:
    translated = 0
    for stored, operand, op in itertools.product(STORED, OPERANDS, OPS):
        condition = Compare("a", op, operand)
        item = {"a": stored}
        got = sql_truth(condition, item)
        if got is None:
            # Left to Python: null, list and map operands, and booleans ordered.
            assert (
                operand is None
                or isinstance(operand, list | dict)
                or (isinstance(operand, bool) and op not in ("=", "<>"))
            )
            continue
        translated += 1
        assert got == evaluate(condition, item), (stored, op, operand)
        assert sql_truth(condition, {"other": stored}) is False  # a missing attribute compares false
    assert translated > 300


@pytest.mark.parametrize(
    "condition",
    [
        Exists("a"),
        NotExists("a"),
        And(()),
        Or(()),
        all_of(Compare("a", "=", "b"), Exists("c")),
        any_of(NotExists("a"), Compare("a", "<", 5)),
        all_of(Compare("status", "=", "pending"), any_of(NotExists("lease_owner"), Compare("lease_until", "<", 1e9))),
    ],
)
def test_existence_and_combinations(condition: Condition) -> None:
    for item in (
        {"a": "b", "c": None},
        {"a": None},
        {},
        {"a": 4},
        {"status": "pending", "lease_until": 5.5, "lease_owner": "w"},
    ):
        assert sql_truth(condition, item) == evaluate(condition, item), item


def test_names_that_are_not_plain_stay_in_python() -> None:
    assert condition_sql(Exists("a.b")) is None
    assert condition_sql(Compare("x'y", "=", 1)) is None
    assert condition_sql(all_of(Exists("a"), Exists("$x"))) is None


def _key(n: int) -> dict[str, str]:
    return {"alert_key": f"u/{n:04d}", "integration_id": "hook"}


def test_conditional_updates_agree_with_evaluate_on_both_backends(backend: StateBackend) -> None:
    """The same batch on SQLite (one statement per shape) and DynamoDB (one write each):
    written exactly where `evaluate` says the condition holds."""
    # DynamoDB refuses to order booleans at all (a ValidationException): never asked of it.
    every = itertools.product(STORED[:12], ["b", "10", 10, 9.5, True], OPS)
    cases = [(s, o, op) for s, o, op in every if not (isinstance(o, bool) and op not in ("=", "<>"))]
    items = [_key(n) | {"a": stored, "status": "pending"} for n, (stored, _, _) in enumerate(cases)]
    backend.batch_put(DELIVERIES, items)
    updates = [
        Update(_key(n), set_values={"seen": n}, condition=Compare("a", op, operand))
        for n, (_, operand, op) in enumerate(cases)
    ]
    done = backend.update_many(DELIVERIES, updates)
    for n, (item, u) in enumerate(zip(items, updates, strict=True)):
        assert u.condition is not None
        expected = evaluate(u.condition, item)
        assert (done[n] is not None) == expected, cases[n]
        assert (done[n] == item | {"seen": n}) if expected else backend.get(DELIVERIES, _key(n)) == item


def test_a_batch_keeps_items_canonical_and_index_columns_true(backend: StateBackend) -> None:
    backend.put(DELIVERIES, _key(1) | {"status": "pending", "queue": "due", "due_at": "001", "z": {"b": 1, "a": 2.5}})
    backend.put(DELIVERIES, _key(2) | {"status": "pending", "queue": "due", "due_at": "002"})
    same = Compare("status", "=", "pending")
    done = backend.update_many(
        DELIVERIES,
        [
            # Adds attributes in the middle of the order, removes the index's, sets nested values.
            Update(
                _key(1),
                set_values={"lease_owner": "w", "b": {"y": 1, "x": [1.5, None]}},
                remove=("queue", "due_at"),
                condition=same,
            ),
            Update(_key(2), set_values={"due_at": "000", "attempts": 1}, condition=same),
        ],
    )
    first = _key(1) | {
        "status": "pending",
        "z": {"b": 1, "a": 2.5},
        "lease_owner": "w",
        "b": {"y": 1, "x": [1.5, None]},
    }
    assert done == [first, _key(2) | {"status": "pending", "queue": "due", "due_at": "000", "attempts": 1}]
    assert backend.get(DELIVERIES, _key(1)) == first
    due = backend.query(DELIVERIES, "due", index=DUE_DELIVERIES_INDEX).items
    assert [(i["alert_key"], i["due_at"]) for i in due] == [("u/0002", "000")]
    if isinstance(backend, SqliteBackend):
        with backend._connection() as conn:
            rows = conn.execute(f"SELECT item FROM {backend._table(DELIVERIES)} ORDER BY hk").fetchall()  # noqa: S608
        assert [row[0] for row in rows] == [encode(json.loads(row[0])) for row in rows]


def test_absent_items_repeated_keys_and_adds_keep_the_generic_meaning(backend: StateBackend) -> None:
    backend.put(DELIVERIES, _key(1) | {"status": "pending"})
    done = backend.update_many(
        DELIVERIES,
        [
            Update(_key(1), set_values={"status": "delivered"}, condition=Compare("status", "=", "pending")),
            Update(
                _key(1), set_values={"status": "dead"}, condition=Compare("status", "=", "pending")
            ),  # sees the first
            Update(_key(3), set_values={"status": "pending"}, condition=NotExists("status")),  # created
            Update(_key(4), set_values={"status": "pending"}, condition=Exists("status")),  # absent: refused
            Update(_key(1), add_values={"attempts": 1}),
        ],
    )
    assert [None if d is None else d.get("status") for d in done] == ["delivered", None, "pending", None, "delivered"]
    assert backend.get(DELIVERIES, _key(1)) == _key(1) | {"status": "delivered", "attempts": 1}
    assert backend.get(DELIVERIES, _key(4)) is None


def test_expired_items_are_not_updated_in_place(backend: StateBackend) -> None:
    backend.put(DELIVERIES, _key(1) | {"status": "pending", "ttl": 1})  # long expired
    done = backend.update_many(DELIVERIES, [Update(_key(1), set_values={"x": 1}, condition=Exists("status"))])
    assert done == [None]
    assert backend.get(DELIVERIES, _key(1)) is None


@pytest.mark.parametrize(
    "check",
    [
        test_conditional_updates_agree_with_evaluate_on_both_backends,
        test_a_batch_keeps_items_canonical_and_index_columns_true,
        test_absent_items_repeated_keys_and_adds_keep_the_generic_meaning,
        test_expired_items_are_not_updated_in_place,
    ],
)
def test_an_sqlite_older_than_3_38_gives_the_same_answers_item_by_item(
    check: Any, tmp_path: Path, environment_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python links the system's SQLite; without `->>`/RETURNING (Ubuntu 22.04 has 3.37) every
    batched statement must step aside and the item-by-item path give the same results."""
    monkeypatch.setattr(sqlite_batch, "BATCH_SQL", False)
    store = make_backend("sqlite", tmp_path, environment_name, None)
    try:
        traced: list[str] = []
        with store._connection() as conn:  # type: ignore[attr-defined]
            conn.set_trace_callback(traced.append)
        check(store)
        store.put(DELIVERIES, _key(900) | {"status": "pending"})
        assert store.batch_get(DELIVERIES, [_key(900), _key(901)]) == [_key(900) | {"status": "pending"}]
        assert store.attribute_values(DELIVERIES, ["u/0900"], "status") == {"u/0900": ["pending"]}
        assert not [statement for statement in traced if "->" in statement or "RETURNING" in statement]
    finally:
        store.close()
