"""Alerts fit a DynamoDB item whatever the matched events hold, and a page of alerts stays small."""

from __future__ import annotations

import json

from mantissa_log.domain.alert_size import MARK, fit_alert
from mantissa_log.services.container import Services
from tests.detection.conftest import ALICE, Ingest, add_rule, at, ct_event
from tests.factories import make_alert

BIG_GROUPS = """\
title: Big events
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: PutObject}
  condition: sel
level: high
schedule: rate(5 minutes)
"""


def item_bytes(item: object) -> int:
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode())


def test_three_large_events_make_an_alert_under_400_kb(det: Services, ingest: Ingest) -> None:
    add_rule(det, "big", BIG_GROUPS)
    padding = "p" * (900 << 10)  # three events of 900 KB each: under the 1 MB event cap
    ingest([ct_event("PutObject", when=at(0), blob=padding + str(n)) for n in range(3)], at(0))
    (result,) = det.infra.scheduler.tick(now=at(6), until=at(6))
    assert result.status == "success", result
    assert len(result.alerts_created) == 1
    (alert,) = det.infra.repos.alerts.list_alerts("alice").items
    assert item_bytes(alert.dump()) < 400_000  # DynamoDB refuses items over 400 KB
    assert alert.match_count == 3
    assert all(sample.get(MARK) == "sample too large" for sample in alert.samples)
    assert alert.samples[0]["bytes"] > 900 << 10
    assert alert.samples[0]["preview"].startswith("{")
    listed = det.alerts.list(ALICE).items[0]
    assert item_bytes(listed.samples) < 10_000
    assert det.alerts.get(ALICE, alert.alert_id).alert.samples == alert.samples


def test_fitting_keeps_samples_in_order_and_counts_the_omitted() -> None:
    samples = [{"n": n, "pad": "x" * (50 << 10)} for n in range(10)]
    alert = make_alert(1, samples=samples, group={"user": "u" * 5000}, rule_title="T" * 5000)
    fitted = fit_alert(alert)
    assert [s["n"] for s in fitted.samples[:-1]] == [0, 1, 2, 3, 4]
    assert fitted.samples[-1] == {MARK: "samples omitted to fit the alert", "omitted": 5}
    assert fitted.group is not None
    assert len(fitted.group["user"] or "") == 1024
    assert len(fitted.rule_title) == 1024
    assert item_bytes(fitted.dump()) < 400_000
    small = make_alert(2, samples=[{"eventName": "x"}])
    assert fit_alert(small) == small
