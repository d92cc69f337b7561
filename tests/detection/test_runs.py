"""Scheduled runs: threshold, no double alerts, late data, statistics, isolation, several workers."""

from __future__ import annotations

import threading

from mantissa_log.services.container import Services
from mantissa_log.services.detection.scheduler import Scheduler
from tests.detection.conftest import ALICE, Ingest, add_rule, at, ct_event

FAILED_LOGINS = """\
title: Failed console logins
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: ConsoleLogin
    errorMessage: Failed authentication
  condition: sel
level: high
schedule: rate(5 minutes)
threshold: 10
lookback: 1h
"""

ANY_DELETE = """\
title: Trail deleted
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: DeleteTrail}
  condition: sel
level: critical
schedule: rate(5 minutes)
suppression: 1h
alert_destinations: [slack]
"""


def failed(n: int, minute: float) -> list[dict[str, object]]:
    return [ct_event(when=at(minute), errorMessage="Failed authentication") for _ in range(n)]


def test_threshold_fires_on_the_tenth_not_the_ninth(det: Services, ingest: Ingest) -> None:
    add_rule(det, "failed-logins", FAILED_LOGINS)
    ingest([*failed(9, 0), ct_event(when=at(0))], at(0))  # 9 failures + 1 success
    first = det.infra.scheduler.tick(now=at(1), until=at(1))
    assert [(r.rule_name, r.matches, r.alerts_created) for r in first] == [("failed-logins", 9, [])]
    assert det.infra.repos.alerts.list_alerts("alice").items == []
    ingest(failed(1, 2), at(2))
    second = det.infra.scheduler.tick(now=at(6), until=at(6))
    assert second[0].matches == 10
    assert second[0].new_matches == 1
    alerts = det.infra.repos.alerts.list_alerts("alice").items
    assert len(alerts) == 1
    assert alerts[0].match_count == 10
    assert alerts[0].severity == "high"
    assert len(alerts[0].samples) == 10
    assert alerts[0].samples[0]["errorMessage"] == "Failed authentication"


def test_running_twice_over_the_same_data_alerts_once(det: Services, ingest: Ingest) -> None:
    add_rule(det, "trail-deleted", ANY_DELETE.replace("suppression: 1h\n", ""))
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    assert det.infra.scheduler.tick(now=at(1), until=at(1))[0].alerts_created
    again = det.infra.scheduler.tick(now=at(6), until=at(6))
    assert again[0].matches == 0
    assert again[0].alerts_created == []
    assert len(det.infra.repos.alerts.list_alerts("alice").items) == 1
    # Not due yet: a tick in the same 5-minute slot runs nothing.
    assert det.infra.scheduler.tick(now=at(7), until=at(7)) == []


def test_late_event_with_old_event_time_is_caught(det: Services, ingest: Ingest) -> None:
    add_rule(det, "trail-deleted", ANY_DELETE)
    assert det.infra.scheduler.tick(now=at(1), until=at(1))[0].matches == 0
    # Happened at minute 0 (event time) but shipped at minute 30.
    ingest([ct_event("DeleteTrail", when=at(-60))], at(30))
    late = det.infra.scheduler.tick(now=at(31), until=at(31))
    assert late[0].matches == 1
    assert len(late[0].alerts_created) == 1


def test_suppression_folds_repeats(det: Services, ingest: Ingest) -> None:
    add_rule(det, "trail-deleted", ANY_DELETE)
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    det.infra.scheduler.tick(now=at(1), until=at(1))
    ingest([ct_event("DeleteTrail", when=at(3))], at(3))
    result = det.infra.scheduler.tick(now=at(6), until=at(6))
    assert result[0].alerts_folded
    assert not result[0].alerts_created
    alerts = det.infra.repos.alerts.list_alerts("alice").items
    assert len(alerts) == 1
    assert alerts[0].occurrences == 2
    assert alerts[0].match_count == 2
    assert alerts[0].delivery_status == "none"  # routed: no slack integration exists here
    assert alerts[0].alert_destinations == ["slack"]


def test_statistics_follow_each_run(det: Services, ingest: Ingest) -> None:
    add_rule(det, "trail-deleted", ANY_DELETE)
    before = det.infra.repos.rules.get_rule("alice", "trail-deleted")
    assert before is not None
    assert (before.executions, before.alert_count, before.last_execution) == (0, 0, None)
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    det.infra.scheduler.tick(now=at(1), until=at(1))
    one = det.infra.repos.rules.get_rule("alice", "trail-deleted")
    assert one is not None
    assert (one.executions, one.alert_count, one.last_execution_status) == (1, 1, "success")
    assert one.last_alert is not None
    assert one.last_execution is not None
    assert one.data_scanned_mb > 0
    assert one.avg_duration_ms > 0
    det.infra.scheduler.tick(now=at(6), until=at(6))
    two = det.infra.repos.rules.get_rule("alice", "trail-deleted")
    assert two is not None
    assert (two.executions, two.alert_count) == (2, 1)
    assert two.data_scanned_mb >= one.data_scanned_mb  # cumulative
    assert two.last_alert == one.last_alert


def test_a_broken_rule_never_stops_the_others(det: Services, ingest: Ingest) -> None:
    add_rule(det, "trail-deleted", ANY_DELETE)
    add_rule(det, "broken", ANY_DELETE.replace("Trail deleted", "Broken"))
    broken = det.infra.repos.rules.get_rule("alice", "broken")
    assert broken is not None
    det.infra.rule_bodies.put(broken.s3_key, b"title: [unclosed\n")  # corrupted behind our back
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    results = {r.rule_name: r for r in det.infra.scheduler.tick(now=at(1), until=at(1))}
    assert results["trail-deleted"].status == "success"
    assert len(results["trail-deleted"].alerts_created) == 1
    assert results["broken"].status == "error"
    row = det.infra.repos.rules.get_rule("alice", "broken")
    assert row is not None
    assert (row.last_execution_status, row.executions) == ("error", 1)
    assert row.last_error is not None
    assert "YAML" in row.last_error


def test_two_workers_run_each_rule_once(det: Services, ingest: Ingest) -> None:
    for i in range(6):
        add_rule(det, f"trail-{i}", ANY_DELETE.replace("Trail deleted", f"Trail deleted {i}"))
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    workers = [
        Scheduler(
            det.infra.repos.rules, det.rules, det.infra.repos.rule_runs, det.infra.runner, det.infra.clock, f"w{i}"
        )
        for i in range(2)
    ]
    ran: list[list[str]] = [[], []]

    def work(i: int) -> None:
        ran[i] = [r.rule_name for r in workers[i].tick(now=at(1), until=at(1))]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ran[0] + ran[1]) == sorted(f"trail-{i}" for i in range(6))
    assert len(det.infra.repos.alerts.list_alerts("alice").items) == 6
    for i in range(6):
        rule = det.infra.repos.rules.get_rule("alice", f"trail-{i}")
        assert rule is not None
        assert rule.executions == 1


def test_disabled_rules_do_not_run(det: Services, ingest: Ingest) -> None:
    add_rule(det, "trail-deleted", ANY_DELETE)
    det.rules.set_enabled(ALICE, "trail-deleted", False)
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    assert det.infra.scheduler.tick(now=at(1), until=at(1)) == []
