"""Load the demo: starter rules first (a rule sees what arrives after it exists), then a day of
events with an intrusion inside, then one run of every rule, so alerts are there at once.

`live()` adds a few minutes of routine activity (and now and then a small incident), so a demo
left running keeps its sources fresh and its rules busy.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mantissa_log.clock import Clock
from mantissa_log.errors import Conflict, MantissaError
from mantissa_log.services.demo import cloudtrail, github, okta
from mantissa_log.services.demo.common import BROWSERS, HOME_IPS, STAFF
from mantissa_log.services.detection.rules import RuleService, RuleWrite
from mantissa_log.services.detection.service import DetectionService
from mantissa_log.services.identity import Principal
from mantissa_log.services.logs import LogService
from mantissa_log.starter_rules import starter_rule_files

log = logging.getLogger("mantissa_log.demo")
SEED = 20261127
DAY = timedelta(hours=24)


@dataclass
class DemoReport:
    rules_created: int = 0
    rules_existing: int = 0
    events: dict[str, int] = field(default_factory=dict)
    alerts: int = 0


def day_of_events(now: datetime, seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """The last 24 hours of the demo organisation, per source (the intrusion began ~3 hours ago)."""
    rng = random.Random(seed)  # noqa: S311 - realistic noise, reproducible for a seed; nothing secret
    start = now - DAY
    incident = now - timedelta(hours=3, minutes=10)
    return {
        "cloudtrail": sorted(
            cloudtrail.routine(rng, start, now, 3200)
            + cloudtrail.intrusion(rng, incident)
            + cloudtrail.break_glass(rng, now - timedelta(hours=20, minutes=12)),
            key=lambda e: str(e["eventTime"]),
        ),
        "okta": sorted(
            okta.routine(rng, start, now, 1400) + okta.intrusion(rng, incident), key=lambda e: str(e["published"])
        ),
        "github": sorted(
            github.routine(rng, start, now, 700) + github.intrusion(rng, incident), key=lambda e: int(e["@timestamp"])
        ),
    }


def few_minutes(now: datetime, minutes: int, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """Routine activity of the last `minutes`, and sometimes a small incident."""
    start = now - timedelta(minutes=minutes)
    scale = max(minutes, 1)
    found = {
        "cloudtrail": cloudtrail.routine(rng, start, now, 3 * scale),
        "okta": okta.routine(rng, start, now, 2 * scale),
        "github": github.routine(rng, start, now, 1 * scale),
    }
    if rng.random() < 0.15:  # someone signs in to the console with a password only
        who = rng.choice(STAFF)
        found["cloudtrail"].append(
            cloudtrail.record(
                rng,
                now - timedelta(seconds=20),
                cloudtrail._user(who),
                "signin.amazonaws.com",
                "ConsoleLogin",
                ip=rng.choice(HOME_IPS),
                agent=BROWSERS[1],
                read_only=False,
                response={"ConsoleLogin": "Success"},
                extra={"additionalEventData": {"MFAUsed": "No", "MobileVersion": "No"}},
                event_type="AwsConsoleSignIn",
            )
        )
    return found


def _jsonl(events: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(e, separators=(",", ":")) for e in events).encode()


class DemoService:
    def __init__(self, rules: RuleService, detection: DetectionService, logs: LogService, clock: Clock) -> None:
        self.rules = rules
        self.detection = detection
        self.logs = logs
        self.clock = clock
        self._rng = random.Random(SEED + 1)  # noqa: S311 - demo activity, not security

    def has_demo(self, who: Principal) -> bool:
        """Whether this user already has the starter rules (a demo loaded before is not loaded twice)."""
        try:
            self.rules.get(who, "okta_failed_sign_ins_for_one_user")
        except MantissaError:
            return False
        return True

    def install_starter_rules(self, who: Principal, report: DemoReport) -> list[str]:
        names = []
        for path in starter_rule_files():
            name = path.stem
            names.append(name)
            try:
                self.rules.create(who, RuleWrite(rule_name=name, body=path.read_text(), enabled=True), "cli")
                report.rules_created += 1
            except Conflict:
                report.rules_existing += 1
        return names

    def load(self, who: Principal) -> DemoReport:
        """Starter rules, a day of events, and one run of every rule over them."""
        report = DemoReport()
        names = self.install_starter_rules(who, report)
        for source, events in day_of_events(self.clock.now()).items():
            ingested = self.logs.ingest_bytes(source, _jsonl(events), filename=f"demo-{source}.jsonl")
            report.events[source] = ingested.accepted
        for name in names:
            report.alerts += self._run(who, name)
        return report

    def _run(self, who: Principal, name: str) -> int:
        for _ in range(3):
            try:
                return len(self.detection.run_now(who, name).alerts_created)
            except Conflict:
                continue  # a worker holds the rule this instant; it will find the events itself
            except MantissaError as exc:
                log.warning("demo: rule %s did not run: %s", name, exc)
                return 0
        return 0

    def live(self, minutes: int = 1) -> dict[str, int]:
        """A few more minutes of activity (the worker's scheduled runs pick it up)."""
        counts = {}
        for source, events in few_minutes(self.clock.now(), minutes, self._rng).items():
            if events:
                counts[source] = self.logs.ingest_bytes(
                    source, _jsonl(events), filename=f"demo-{source}.jsonl"
                ).accepted
        return counts
