"""Never miss, never double (docs/RELIABILITY.md): windows from creation, repeated runs, poison inputs."""

from __future__ import annotations

from datetime import timedelta

from mantissa_log.clock import iso_us
from mantissa_log.services.container import Services
from mantissa_log.services.detection.rules import RuleWrite
from mantissa_log.services.detection.scheduler import Scheduler
from mantissa_log.state.tables import DETECTION_RULES
from tests.detection.conftest import ALICE, Ingest, add_rule, at, ct_event

EVERY_MINUTE = """\
title: Trail deleted
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: DeleteTrail}
  condition: sel
level: critical
schedule: rate(1 minute)
"""

SUPPRESSED = EVERY_MINUTE.replace("rate(1 minute)", "rate(1 minute)\nsuppression: 1h")


def test_a_late_first_run_still_sees_every_event_since_creation(det: Services, ingest: Ingest) -> None:
    """The reported case: rate(1 minute), one event, the worker starts 75 s later."""
    add_rule(det, "trail", EVERY_MINUTE)  # created at T0 - 1 min
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    late = at(0) + timedelta(seconds=75)
    (result,) = det.infra.scheduler.tick(now=late, until=late)
    assert (result.matches, result.new_matches, len(result.alerts_created)) == (1, 1, 1)
    # Before the rule existed is not its business: an older event is not alerted on.
    det.infra.clock.set(at(10))  # type: ignore[attr-defined]
    add_rule(det, "newer", EVERY_MINUTE.replace("Trail deleted", "Newer"))
    (newer,) = [r for r in det.infra.scheduler.tick(now=at(11), until=at(11)) if r.rule_name == "newer"]
    assert newer.alerts_created == []


def test_a_backfill_starts_where_asked(det: Services, ingest: Ingest) -> None:
    ingest([ct_event("DeleteTrail", when=at(-30))], at(-30))  # before the rule is created
    det.infra.clock.set(at(0))  # type: ignore[attr-defined]
    body = RuleWrite(rule_name="trail", body=EVERY_MINUTE, since=iso_us(at(-60))[:19] + "Z")
    det.rules.create(ALICE, body, "api")
    (result,) = det.infra.scheduler.tick(now=at(1), until=at(1))
    assert len(result.alerts_created) == 1


def test_a_rule_far_behind_catches_up_in_bounded_windows_and_never_skips(det: Services, ingest: Ingest) -> None:
    det.infra.scheduler.max_window = timedelta(hours=1)
    add_rule(det, "trail", EVERY_MINUTE)
    ingest([ct_event("DeleteTrail", when=at(10))], at(10))
    ingest([ct_event("DeleteTrail", when=at(150))], at(150))  # 2.5 hours later
    now = at(200)
    first = det.infra.scheduler.tick(now=now, until=now)
    assert (first[0].window_end, first[0].lag_seconds > 0) == (iso_us(at(-1) + timedelta(hours=1)), True)
    stats = det.infra.repos.rules.get_rule("alice", "trail")
    assert stats is not None
    assert stats.lag_seconds is not None
    assert stats.lag_seconds > 0
    # Behind: due again at once, window after window, until caught up.
    ends = [first[0].window_end]
    for _ in range(5):
        ran = det.infra.scheduler.tick(now=now, until=now)
        if not ran:
            break
        ends.append(ran[0].window_end)
    assert ends[-1] == iso_us(now)
    assert len(det.infra.repos.alerts.list_alerts("alice").items) == 2
    caught_up = det.infra.repos.rules.get_rule("alice", "trail")
    assert caught_up is not None
    assert caught_up.lag_seconds == 0


def test_a_run_repeated_after_a_crash_finds_its_alert_and_counts_once(det: Services, ingest: Ingest) -> None:
    add_rule(det, "trail", SUPPRESSED)
    ingest([ct_event("DeleteTrail", when=at(0)) for _ in range(3)], at(0))
    # A worker that begins the run, stores the alert, then dies before its watermark moves.
    scheduler = det.infra.scheduler
    infra = det.infra
    dead = Scheduler(infra.repos.rules, det.rules, infra.repos.rule_runs, infra.runner, infra.clock, "dead-worker")
    rule = det.infra.repos.rules.get_rule("alice", "trail")
    assert rule is not None
    runs = det.infra.repos.rule_runs
    assert runs.acquire("alice", "trail", "dead-worker", at(1).timestamp(), 60)
    planned = dead._plan(rule, runs.state("alice", "trail"), at(1), at(1))
    assert planned is not None
    first = det.infra.runner.run_source("cloudtrail", [planned])[0]
    assert len(first.alerts_created) == 1
    # Not completed: the watermark did not move. Pretend its stats never landed either.
    det.infra.backend.update(
        DETECTION_RULES,
        {"user_id": "alice", "rule_name": "trail"},
        set_values={"executions": 0, "alert_count": 0},
        remove=("last_run_id",),
    )
    # The lease expires; another worker takes the rule over later, when more time has passed.
    later = at(5)
    (rerun,) = scheduler.tick(now=later, until=later)
    assert rerun.window_end == first.window_end  # exactly the window the dead worker began
    assert rerun.alerts_repeated == first.alerts_created
    assert rerun.alerts_created == []
    (alert,) = det.infra.repos.alerts.list_alerts("alice").items
    assert (alert.occurrences, alert.match_count) == (1, 3)  # folded nothing twice
    stats = det.infra.repos.rules.get_rule("alice", "trail")
    assert stats is not None
    assert (stats.executions, stats.alert_count) == (1, 1)  # the run is counted once, its alert too
    # Running that same window's stats again does not count it twice.
    (after,) = scheduler.tick(now=at(7), until=at(7))
    assert (after.alerts_created, after.new_matches) == ([], 0)
    stats = det.infra.repos.rules.get_rule("alice", "trail")
    assert stats is not None
    assert stats.executions == 2


def test_suppression_counts_each_event_once(det: Services, ingest: Ingest) -> None:
    body = SUPPRESSED.replace("schedule: rate(1 minute)", "schedule: rate(1 minute)\nlookback: 1h")
    add_rule(det, "trail", body)
    ingest([ct_event("DeleteTrail", when=at(0)) for _ in range(4)], at(0))
    det.infra.scheduler.tick(now=at(1), until=at(1))
    ingest([ct_event("DeleteTrail", when=at(3)) for _ in range(2)], at(3))
    det.infra.scheduler.tick(now=at(4), until=at(4))  # counts 6 over its lookback, 2 of them new
    (alert,) = det.infra.repos.alerts.list_alerts("alice").items
    assert (alert.occurrences, alert.match_count) == (2, 6)


def test_poison_rule_and_corrupt_file_stop_nobody_else(det: Services, ingest: Ingest) -> None:
    add_rule(det, "good", EVERY_MINUTE)
    add_rule(det, "poison", EVERY_MINUTE.replace("Trail deleted", "Poison"))
    poison = det.infra.repos.rules.get_rule("alice", "poison")
    assert poison is not None
    # A body stored by an older version that no longer validates: a correlation spanning ~270,000 years.
    det.infra.rule_bodies.put(
        poison.s3_key,
        b"title: base\nname: base\nlogsource: {product: aws, service: cloudtrail}\n"
        b"detection: {sel: {eventName: DeleteTrail}, condition: sel}\n---\ntitle: Poison\n"
        b"correlation: {type: event_count, rules: [base], timespan: 99999999d, condition: {gte: 1}}\n",
    )
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    ingest([ct_event("DeleteTrail", when=at(0))], at(0) + timedelta(seconds=1))
    # One of the two lake files is cut short (a disk hiccup, a copy interrupted).
    victim = det.infra.lake.files("cloudtrail")[-1]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    results = {r.rule_name: r for r in det.infra.scheduler.tick(now=at(1), until=at(1))}
    assert results["good"].status == "success"
    assert (results["good"].matches, len(results["good"].alerts_created)) == (1, 1)
    assert results["poison"].status == "error"
    message = results["poison"].error or ""
    assert "timespan" in message
    assert "/" not in message  # no server paths
    assert "SELECT" not in message  # no SQL
    (source,) = [s for s in det.logs.sources() if s.name == "cloudtrail"]
    assert source.quarantined == 1
    assert not victim.exists()
