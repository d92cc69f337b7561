"""Rule -> alert -> every destination, with a receiver that fails for a while."""

from __future__ import annotations

from collections import Counter

from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER
from mantissa_log.services.container import Services
from tests.clock import ManualClock
from tests.delivery.conftest import ALICE, BACKOFF_CAP
from tests.delivery.receiver import Receiver, Reply
from tests.detection.conftest import Ingest, add_rule, at, ct_event

RULE = """\
title: Trail deleted
logsource: {product: aws, service: cloudtrail}
detection:
  sel: {eventName: DeleteTrail}
  condition: sel
level: critical
schedule: rate(5 minutes)
alert_destinations: [slack, pagerduty, webhook]
"""


def integrate(services: Services, body: dict[str, object]) -> None:
    services.integrations.create(ALICE, INTEGRATION_WRITE_ADAPTER.validate_python(body))


def test_every_alert_reaches_every_destination(
    dlv: Services, receiver: Receiver, ingest: Ingest, clock: ManualClock
) -> None:
    dlv.config = dlv.config.model_copy(update={"pagerduty_events_url": receiver.url + "/pd"})
    dlv.infra.outbox.config = dlv.config
    integrate(
        dlv,
        {
            "integration_id": "slack",
            "integration_type": "slack",
            "config": {"channel": "soc"},
            "secret": receiver.url + "/slack/services/T0/B0/abc",
        },
    )
    integrate(
        dlv,
        {
            "integration_id": "pd",
            "integration_type": "pagerduty",
            "config": {"severity_threshold": "high"},
            "secret": "R0ut1ngK3yAbCdEf0123456789abcdef",
        },
    )
    integrate(
        dlv,
        {
            "integration_id": "hook",
            "integration_type": "webhook",
            "config": {"url": receiver.url + "/hook", "retry_count": 0},
        },
    )
    clock.set(at(-1))  # the rule exists before the events it alerts on
    add_rule(dlv, "trail-deleted", RULE)
    receiver.script = [Reply(500, b"down")] * 6  # the receiver is down for the first attempts
    ingest([ct_event("DeleteTrail", when=at(0))], at(0))
    dlv.infra.scheduler.tick(now=at(1), until=at(1))
    ingest([ct_event("DeleteTrail", when=at(3))], at(3))
    dlv.infra.scheduler.tick(now=at(6), until=at(6))  # same rule, same dedup key, no suppression: a second alert
    alerts = dlv.infra.repos.alerts.list_alerts("alice").items
    assert len(alerts) == 2
    for _ in range(60):
        dlv.infra.outbox.tick()
        if all(
            d.status != "pending" for a in alerts for d in dlv.infra.repos.deliveries.for_alert("alice", a.alert_id)
        ):
            break
        clock.advance(BACKOFF_CAP)
    delivered = Counter(r.path.split("/")[1] for r in receiver.requests[6:])
    assert delivered == {"slack": 2, "pd": 2, "hook": 2}, [r.path for r in receiver.requests]
    assert len(receiver.requests) == 12  # 6 refused while down, then each of 6 deliveries once
    for alert in alerts:
        states = {d.integration_id: d.status for d in dlv.infra.repos.deliveries.for_alert("alice", alert.alert_id)}
        assert states == {"slack": "delivered", "pd": "delivered", "hook": "delivered"}
        stored = dlv.infra.repos.alerts.get_alert("alice", alert.alert_id)
        assert stored is not None
        assert stored.delivery_status == "delivered"
    pd_keys = {r.json()["dedup_key"] for r in receiver.requests[6:] if r.path == "/pd"}
    assert len(pd_keys) == 1  # repeats of one alert share the PagerDuty dedup key
    assert next(iter(pd_keys)).startswith("mantissa-log-")
    assert dlv.integrations.get(ALICE, "hook").status == "configured"
