"""Triage and folding: a repeat never folds into a closed alert, on both backends, under races too."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from mantissa_log.domain.alerts import Alert, AlertStatus, TriageEntry
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.repositories.alerts import AlertFilter, AlertRepository, Firing
from mantissa_log.state.tables import ALERT_DEDUP, ALERTS
from tests.factories import make_alert, now

T = "2026-11-27T10:05:00Z"


def alert(n: int) -> Alert:
    return make_alert(n, rule_name="r1", last_seen=f"2026-11-27T10:00:{n:02d}Z")


def close(repo: AlertRepository, alert_id: str, status: AlertStatus = "resolved") -> Alert:
    stored = repo.get_alert("alice", alert_id)
    assert stored is not None
    return repo.set_status(stored, TriageEntry(status=status, previous=stored.status, by="alice", at=T, note="done"))


@pytest.mark.parametrize("closed_as", ["resolved", "false_positive"])
def test_a_repeat_after_closing_opens_a_new_alert(backend: StateBackend, closed_as: AlertStatus) -> None:
    repo = AlertRepository(backend)
    first, _ = repo.record_firing(Firing(alert(1), 3600, new_matches=1), now())
    close(repo, first.alert_id, closed_as)

    second, outcome = repo.record_firing(Firing(alert(2), 3600, new_matches=2), now())
    assert outcome == "created"
    assert second.alert_id != first.alert_id
    assert second.status == "open"
    # The closed alert is left as the analyst closed it: nothing counted into it afterwards.
    kept = repo.get_alert("alice", first.alert_id)
    assert kept is not None
    assert (kept.status, kept.occurrences, kept.match_count) == (closed_as, 1, 1)
    # The claim now names the new alert: the next repeat folds there.
    third, outcome = repo.record_firing(Firing(alert(3), 3600, new_matches=3), now())
    assert (outcome, third.alert_id, third.occurrences, third.match_count) == ("folded", second.alert_id, 2, 5)


def test_an_acknowledged_alert_still_takes_repeats(backend: StateBackend) -> None:
    repo = AlertRepository(backend)
    first, _ = repo.record_firing(Firing(alert(1), 3600, new_matches=1), now())
    close(repo, first.alert_id, "acknowledged")
    again, outcome = repo.record_firing(Firing(alert(2), 3600, new_matches=2), now())
    assert (outcome, again.alert_id, again.status, again.occurrences) == ("folded", first.alert_id, "acknowledged", 2)


def test_a_repeated_run_after_closing_is_still_a_repeat(backend: StateBackend) -> None:
    """A run retried after a crash must not open a new alert for events its first attempt counted."""
    repo = AlertRepository(backend)
    first, _ = repo.record_firing(Firing(alert(1), 3600, new_matches=1), now())
    _folded, _ = repo.record_firing(Firing(alert(2), 3600, new_matches=2), now())
    close(repo, first.alert_id)
    for firing in (alert(2), alert(1)):
        again, outcome = repo.record_firing(Firing(firing, 3600, new_matches=2), now())
        assert (outcome, again.alert_id) == ("repeated", first.alert_id)
    assert len(repo.list_alerts("alice").items) == 1
    # Without suppression (every firing its own alert) the same holds.
    solo, _ = repo.record_firing(Firing(alert(5), 0, new_matches=1), now())
    close(repo, solo.alert_id)
    assert repo.record_firing(Firing(alert(5), 0, new_matches=1), now())[1] == "repeated"


def test_concurrent_repeats_after_closing_open_exactly_one_new_alert(backend: StateBackend) -> None:
    repo = AlertRepository(backend)
    first, _ = repo.record_firing(Firing(alert(1), 3600, new_matches=1), now())
    close(repo, first.alert_id)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(
                lambda n: repo.record_firing(
                    Firing(make_alert(n, rule_name="r1", match_count=1), 3600, new_matches=1), now()
                ),
                range(2, 14),
            )
        )
    assert [outcome for _, outcome in results].count("created") == 1
    open_ids = {a.alert_id for a, _ in results}
    assert len(open_ids) == 1
    assert first.alert_id not in open_ids
    stored = {a.alert_id: a for a in repo.list_alerts("alice").items}
    assert len(stored) == 2
    new = stored[open_ids.pop()]
    assert (new.status, new.occurrences, new.match_count) == ("open", 12, 12)
    claim = backend.get(ALERT_DEDUP, {"dedup_key": first.dedup_key})
    assert claim is not None
    assert claim["alert_id"] == new.alert_id


def test_status_change_is_conditional_on_what_was_read(backend: StateBackend) -> None:
    repo = AlertRepository(backend)
    stored, _ = repo.record_firing(Firing(alert(1), 3600, new_matches=1), now())
    acked = repo.set_status(stored, TriageEntry(status="acknowledged", previous="open", by="alice", at=T))
    assert (acked.status, acked.status_by, acked.status_at, acked.triage_version) == ("acknowledged", "alice", T, 1)
    # A second analyst who read the alert before the first change loses, and changes nothing.
    with pytest.raises(Conflict):
        repo.set_status(stored, TriageEntry(status="false_positive", previous="open", by="bob", at=T))
    resolved = repo.set_status(
        acked, TriageEntry(status="resolved", previous="acknowledged", by="bob", at=T, note="fixed")
    )
    assert (resolved.status, resolved.status_by, resolved.status_note) == ("resolved", "bob", "fixed")
    assert [(e.previous, e.status, e.by) for e in resolved.triage] == [
        ("open", "acknowledged", "alice"),
        ("acknowledged", "resolved", "bob"),
    ]
    reopened = repo.set_status(resolved, TriageEntry(status="open", previous="resolved", by="alice", at=T))
    assert reopened.status_note is None  # the note belongs to the change that carried it


def test_status_filter_counts_untriaged_alerts_as_open(backend: StateBackend) -> None:
    repo = AlertRepository(backend)
    legacy = make_alert(1, rule_name="old").dump()
    legacy.pop("status")  # stored before triage existed
    backend.put(ALERTS, legacy)
    a2, _ = repo.record_firing(Firing(make_alert(2, rule_name="r2"), 0), now())
    a3, _ = repo.record_firing(Firing(make_alert(3, rule_name="r3"), 0), now())
    close(repo, a3.alert_id)

    def ids(*statuses: AlertStatus) -> set[str]:
        return {a.alert_id for a in repo.list_alerts("alice", AlertFilter(statuses=statuses)).items}

    assert ids("open") == {legacy["alert_id"], a2.alert_id}
    assert ids("resolved") == {a3.alert_id}
    assert ids("open", "acknowledged") == {legacy["alert_id"], a2.alert_id}
    assert len(ids()) == 3
