"""`update_many` and `set_existing`: each item judged on its own, on both backends (the outbox's batches)."""

from __future__ import annotations

from mantissa_log.state.backend import StateBackend, Update
from mantissa_log.state.codec import encode
from mantissa_log.state.conditions import Compare, NotExists, any_of
from mantissa_log.state.sqlite_backend import SqliteBackend
from mantissa_log.state.tables import ALERTS, DELIVERIES, DELIVERY_STATUS_INDEX


def delivery(alert: str, owner: str | None = None) -> dict[str, object]:
    item: dict[str, object] = {"alert_key": f"u/{alert}", "integration_id": "hook", "status": "pending"}
    if owner is not None:
        item["lease_owner"] = owner
    return item


def test_each_condition_decides_for_its_own_item(backend: StateBackend) -> None:
    backend.put(DELIVERIES, delivery("a"))
    backend.put(DELIVERIES, delivery("b", owner="other"))  # held by another worker
    backend.put(DELIVERIES, delivery("c"))
    claim = any_of(NotExists("lease_owner"), Compare("lease_owner", "=", "me"))
    keys = [{"alert_key": f"u/{a}", "integration_id": "hook"} for a in ("a", "b", "c")]
    done = backend.update_many(DELIVERIES, [Update(k, set_values={"lease_owner": "me"}, condition=claim) for k in keys])
    assert [None if d is None else d["lease_owner"] for d in done] == ["me", None, "me"]
    # The refused item is untouched; the others are written.
    assert backend.get(DELIVERIES, keys[1]) == delivery("b", owner="other")
    assert backend.get(DELIVERIES, keys[0])["lease_owner"] == "me"  # type: ignore[index]
    assert backend.get(DELIVERIES, keys[2])["lease_owner"] == "me"  # type: ignore[index]


def test_more_updates_than_one_chunk(backend: StateBackend) -> None:
    keys = [{"alert_key": f"u/{i:04d}", "integration_id": "hook"} for i in range(230)]
    for key in keys:
        backend.put(DELIVERIES, key | {"status": "pending"})
    done = backend.update_many(
        DELIVERIES, [Update(k, add_values={"attempts": 1}, condition=Compare("status", "=", "pending")) for k in keys]
    )
    assert all(d is not None and d["attempts"] == 1 for d in done)
    assert len(done) == 230


def test_set_existing_changes_what_is_there_and_creates_nothing(backend: StateBackend) -> None:
    """The outbox sets finished alerts' delivery status this way: in place on SQLite, the same
    result on both backends, index included; a deleted alert stays deleted."""
    stored = {
        "user_id": "u",
        "alert_id": "a1",
        "delivery_status": "pending",
        "samples": [{"x": 1.5, "y": 1e-05, "big": 12345678901234567890, "s": 'é\u2028\n"\\ \u0001', "e": "😀"}],
        "group": {"b": None, "a": True},
    }
    backend.put(ALERTS, stored)
    backend.put(ALERTS, {"user_id": "u", "alert_id": "a2"})  # no delivery_status yet: the generic path
    keys = [{"user_id": "u", "alert_id": a} for a in ("a1", "a2", "gone")]
    backend.set_existing(ALERTS, [(k, {"delivery_status": "delivered"}) for k in keys])
    assert backend.get(ALERTS, keys[0]) == stored | {"delivery_status": "delivered"}
    assert backend.get(ALERTS, keys[1]) == {"user_id": "u", "alert_id": "a2", "delivery_status": "delivered"}
    assert backend.get(ALERTS, keys[2]) is None
    found = backend.query(ALERTS, "delivered", index=DELIVERY_STATUS_INDEX).items
    assert [i["alert_id"] for i in found] == ["a1", "a2"]
    assert backend.query(ALERTS, "pending", index=DELIVERY_STATUS_INDEX).items == []
    if isinstance(backend, SqliteBackend):
        # Changed in place, the stored text is still exactly the canonical encoding of the item.
        with backend._connection() as conn:
            rows = conn.execute(f"SELECT item FROM {backend._table(ALERTS)} ORDER BY rk").fetchall()  # noqa: S608
        assert [row[0] for row in rows] == [
            encode(stored | {"delivery_status": "delivered"}),
            encode({"user_id": "u", "alert_id": "a2", "delivery_status": "delivered"}),
        ]
