"""Alerts fold within suppression and two workers never hold one rule's lease, on both backends."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mantissa_log.domain.alerts import Alert
from mantissa_log.state.backend import Item, StateBackend, TableSpec
from mantissa_log.state.conditions import Condition
from mantissa_log.state.repositories.alerts import AlertRepository, Firing
from mantissa_log.state.repositories.rule_runs import RuleRunRepository
from mantissa_log.state.tables import ALERT_DEDUP
from tests.factories import make_alert, now


def alert(n: int, group: dict[str, str | None] | None = None, user: str = "alice") -> Alert:
    return make_alert(n, user=user, rule_name="r1", group=group, last_seen=f"2026-11-27T10:00:0{n}Z")


def test_repeats_fold_within_suppression(backend: StateBackend) -> None:
    repo = AlertRepository(backend)
    first, outcome = repo.record_firing(Firing(alert(1), 3600, new_matches=1), now())
    assert outcome == "created"
    again, outcome_again = repo.record_firing(Firing(alert(2), 3600, new_matches=2), now())
    assert outcome_again == "folded"
    assert again.alert_id == first.alert_id
    assert (again.occurrences, again.match_count, again.last_seen) == (2, 3, "2026-11-27T10:00:02Z")
    # The same firing again (a run repeated after a crash) changes nothing.
    repeated, outcome_repeated = repo.record_firing(Firing(alert(2), 3600, new_matches=2), now())
    assert outcome_repeated == "repeated"
    assert (repeated.occurrences, repeated.match_count) == (2, 3)
    other_group, outcome_other = repo.record_firing(Firing(alert(3, {"user": "bob"}), 3600), now())
    assert outcome_other == "created"
    listed = repo.list_alerts("alice").items
    assert {a.alert_id for a in listed} == {first.alert_id, other_group.alert_id}
    assert [a.alert_id for a in listed] == sorted((a.alert_id for a in listed), reverse=True)
    assert {a.alert_id for a in repo.with_delivery_status("routing").items} == {first.alert_id, other_group.alert_id}


def test_no_suppression_means_every_firing_is_an_alert(backend: StateBackend) -> None:
    repo = AlertRepository(backend)
    ids = {repo.record_firing(Firing(alert(i), 0), now())[0].alert_id for i in range(1, 4)}
    assert len(ids) == 3


def test_concurrent_firings_open_one_alert(backend: StateBackend) -> None:
    repo = AlertRepository(backend)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda n: repo.record_firing(
                    Firing(make_alert(n, rule_name="r1", match_count=1), 3600, new_matches=1), now()
                ),
                range(1, 13),
            )
        )
    assert [outcome for _, outcome in results].count("created") == 1
    stored = repo.list_alerts("alice").items
    assert len(stored) == 1
    assert (stored[0].occurrences, stored[0].match_count) == (12, 12)


def test_lease_is_exclusive_until_released_or_expired(backend: StateBackend) -> None:
    runs = RuleRunRepository(backend)
    assert runs.acquire("alice", "r1", "w1", now=1000.0, lease_seconds=60)
    assert not runs.acquire("alice", "r1", "w2", now=1010.0, lease_seconds=60)
    assert runs.acquire("alice", "r1", "w1", now=1020.0, lease_seconds=60)  # re-entrant for the holder
    runs.complete("alice", "r1", "w1", watermark="2026-11-27T10:00:00.000000Z", next_due=2000.0)
    state = runs.state("alice", "r1")
    assert state.watermark == "2026-11-27T10:00:00.000000Z"
    assert state.lease_owner is None
    assert state.next_due == 2000.0
    assert runs.acquire("alice", "r1", "w2", now=1030.0, lease_seconds=60)
    assert runs.acquire("alice", "r1", "w3", now=1100.0, lease_seconds=60)  # w2's lease expired
    import pytest

    from mantissa_log.errors import Conflict

    with pytest.raises(Conflict):
        runs.complete("alice", "r1", "w2", watermark="2030-01-01T00:00:00.000000Z", next_due=None)
    assert runs.state("alice", "r1").watermark == "2026-11-27T10:00:00.000000Z"


def test_second_firing_between_claim_and_alert_write_folds(backend: StateBackend, monkeypatch: Any) -> None:
    """Force the interleaving where a second firing runs entirely between the first firing's
    dedup claim and its alert write (the race that once opened two alerts for one key)."""
    claimed, release = threading.Event(), threading.Event()
    original = backend.put

    def put_then_pause(table: TableSpec, item: Item, condition: Condition | None = None) -> None:
        original(table, item, condition)
        if table == ALERT_DEDUP and not claimed.is_set():
            claimed.set()
            assert release.wait(10)

    monkeypatch.setattr(backend, "put", put_then_pause)
    repo = AlertRepository(backend)
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(repo.record_firing, Firing(alert(1), 3600, new_matches=1), now())
        assert claimed.wait(10)
        second, second_outcome = repo.record_firing(Firing(alert(2), 3600, new_matches=2), now())
        release.set()
        first_alert, first_outcome = first.result(timeout=10)
    assert sorted([first_outcome, second_outcome]) == ["created", "folded"]
    assert first_alert.alert_id == second.alert_id
    stored = repo.list_alerts("alice").items
    assert len(stored) == 1
    assert (stored[0].occurrences, stored[0].match_count) == (2, 3)
