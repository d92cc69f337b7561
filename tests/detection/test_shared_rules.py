"""Many users with the same rule text: one evaluation per distinct query and window, and each
rule still gets its own answer (its own alert, its own samples)."""

from __future__ import annotations

from mantissa_log.services.container import Services
from mantissa_log.services.detection.rules import RuleWrite
from mantissa_log.services.identity import Principal
from tests.detection.conftest import Ingest, at, ct_event
from tests.detection.test_correlation import BRUTE_FORCE
from tests.detection.test_runs import ANY_DELETE


def test_same_rules_for_many_users_each_alert_on_their_own(det: Services, ingest: Ingest) -> None:
    users = [f"user{i}" for i in range(5)]
    for user in users:
        det.users.create_user(user)
        for name, body in (("trail-deleted", ANY_DELETE), ("brute-force", BRUTE_FORCE)):
            det.rules.create(Principal(user), RuleWrite(rule_name=name, body=body), "api")
    # A different rule of one user shares the scan but not the answer.
    det.rules.create(
        Principal("user0"), RuleWrite(rule_name="other", body=ANY_DELETE.replace("DeleteTrail", "StopLogging"))
    )
    events = [ct_event("DeleteTrail", when=at(0))] + [
        ct_event(user="mallory", when=at(m), errorMessage="Failed authentication") for m in range(5)
    ]
    ingest(events, at(1))
    results = det.infra.scheduler.tick(now=at(2), until=at(2))
    assert len(results) == 11
    assert all(r.status == "success" for r in results), [r.error for r in results]
    for user in users:
        alerts = det.infra.repos.alerts.list_alerts(user).items
        assert sorted(a.rule_name for a in alerts) == ["brute-force", "trail-deleted"], user
        for alert in alerts:
            assert alert.user_id == user
    first, second = (det.infra.repos.alerts.list_alerts(u).items for u in users[:2])
    first[0].samples[0]["marked"] = True  # each alert holds its own samples
    assert "marked" not in second[0].samples[0]
