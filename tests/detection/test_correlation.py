"""Sigma correlation `event_count` with group-by and timespan, run by the scheduler."""

from __future__ import annotations

from mantissa_log.services.container import Services
from tests.detection.conftest import Ingest, add_rule, at, ct_event

BRUTE_FORCE = """\
title: Failed console login
name: failed_console_login
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventName: ConsoleLogin
    errorMessage: Failed authentication
  condition: sel
---
title: Console brute force per user
correlation:
  type: event_count
  rules: [failed_console_login]
  group-by: [userIdentity.userName]
  timespan: 10m
  condition: {gte: 5}
level: high
schedule: rate(5 minutes)
lookback: 1h
"""


def failures(user: str, minutes: list[float]) -> list[dict[str, object]]:
    return [ct_event(user=user, when=at(m), errorMessage="Failed authentication") for m in minutes]


def test_groups_alert_separately_and_only_within_timespan(det: Services, ingest: Ingest) -> None:
    add_rule(det, "brute-force", BRUTE_FORCE)
    events = (
        failures("mallory", [0, 1, 2, 3, 4])  # 5 within 10 minutes: fires
        + failures("trudy", [0, 1, 2, 3])  # only 4: quiet
        + failures("oscar", [0, 12, 24, 36, 48])  # 5 in total but never 5 within 10 minutes: quiet
    )
    ingest(events, at(50))
    results = det.infra.scheduler.tick(now=at(51), until=at(51))
    assert results[0].status == "success", results[0].error
    alerts = det.infra.repos.alerts.list_alerts("alice").items
    assert [a.group for a in alerts] == [{"userIdentity.userName": "mallory"}]
    assert alerts[0].match_count == 5
    assert alerts[0].rule_title == "Console brute force per user"
    # Same data again: nothing new, no second alert.
    det.infra.scheduler.tick(now=at(56), until=at(56))
    assert len(det.infra.repos.alerts.list_alerts("alice").items) == 1
    # Trudy's fifth failure arrives: now her group fires too, with its own dedup key.
    ingest(failures("trudy", [5]), at(57))
    det.infra.scheduler.tick(now=at(61), until=at(61))
    groups = sorted(
        a.group["userIdentity.userName"] for a in det.infra.repos.alerts.list_alerts("alice").items if a.group
    )
    assert groups == ["mallory", "trudy"]
