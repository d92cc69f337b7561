"""`update_many`: each update judged on its own condition, on both backends (the outbox's batches)."""

from __future__ import annotations

from mantissa_log.state.backend import StateBackend, Update
from mantissa_log.state.conditions import Compare, NotExists, any_of
from mantissa_log.state.tables import DELIVERIES


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
