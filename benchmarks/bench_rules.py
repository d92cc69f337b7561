"""Rules at scale: 1,000 enabled rules (50 users x 20: 16 SigmaHQ AWS rules and 4 correlation
rules each) over N CloudTrail events (default 1,000,000) in one scheduler tick, SQLite state.

Setup (printed, not the figure): generate the events (benchmarks/cloudtrail_gen.py), create the
users and rules through the rule service (as the API does), ingest the file into the lake. Then a
child process builds the services on that data home and runs ONE `Scheduler.tick` with every rule
due; it prints the tick's wall time, the rule runs by status, the alerts stored and its peak memory
(ru_maxrss of the child: the tick alone, not the setup).

    .venv/bin/python -m benchmarks.bench_rules [--events N]   # or BENCH_RULES_EVENTS=N
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.cloudtrail_gen import CORPUS, write_jsonl

USERS = 50
PLAIN_PER_USER = 16
T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)

CORRELATIONS = [
    ("console-brute-force", "ConsoleLogin", "userIdentity.userName", 5),
    ("api-burst-per-ip", "DescribeInstances", "sourceIPAddress", 20),
    ("trail-tampering", "StopLogging", "userIdentity.arn", 2),
    ("key-creation-burst", "CreateAccessKey", "userIdentity.userName", 3),
]


def correlation_body(name: str, event_name: str, group_by: str, count: int) -> str:
    base = name.replace("-", "_") + "_base"
    return f"""\
title: {event_name} events
name: {base}
logsource: {{product: aws, service: cloudtrail}}
detection:
  sel:
    eventName: {event_name}
  condition: sel
---
title: {name}
correlation:
  type: event_count
  rules: [{base}]
  group-by: [{group_by}]
  timespan: 10m
  condition: {{gte: {count}}}
level: medium
"""


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def setup(home: Path, events: int) -> None:
    from mantissa_log.config import Settings
    from mantissa_log.services.container import build_services
    from mantissa_log.services.detection.rules import RuleWrite
    from mantissa_log.services.identity import Principal

    plain = sorted((CORPUS / "rules").glob("aws_*.yml"))
    started = time.perf_counter()
    source = home.parent / "events.jsonl"
    size = write_jsonl(source, events)
    print(f"setup: {events:,} events generated ({size / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s")
    services = build_services(Settings(home=home, environment="bench"), FixedClock(T0 - timedelta(minutes=1)))
    started = time.perf_counter()
    refused: Counter[str] = Counter()
    created = 0
    for u in range(USERS):
        user = f"user{u:02d}"
        services.users.create_user(user)
        who = Principal(user)
        bodies = [(p.stem.replace("_", "-")[:60], p.read_text()) for p in plain]
        chosen = [bodies[(u * PLAIN_PER_USER + i) % len(bodies)] for i in range(PLAIN_PER_USER)]
        chosen += [(name, correlation_body(name, event, key, count)) for name, event, key, count in CORRELATIONS]
        for name, body in chosen:
            try:
                services.rules.create(who, RuleWrite(rule_name=name, body=body, schedule="rate(5 minutes)"), "api")
                created += 1
            except Exception as exc:  # a corpus rule the product refuses: counted, not hidden
                refused[f"{name}: {type(exc).__name__}"] += 1
    print(f"setup: {created:,} rules created for {USERS} users in {time.perf_counter() - started:.1f} s")
    for why, n in refused.items():
        print(f"setup: refused {n}x {why}")
    started = time.perf_counter()
    services.infra.lake.ingest_file("cloudtrail", source, ingest_time=T0)
    print(f"setup: ingested in {time.perf_counter() - started:.1f} s")
    services.close()
    source.unlink()


def tick(home: Path) -> None:
    """In the child: one scheduler tick with every rule due."""
    from mantissa_log.config import Settings
    from mantissa_log.services.container import build_services

    now = T0 + timedelta(minutes=10)
    services = build_services(Settings(home=home, environment="bench"), FixedClock(now))
    enabled = len(services.infra.scheduler.enabled_rules())
    started = time.perf_counter()
    results = services.infra.scheduler.tick(now=now, until=now)
    elapsed = time.perf_counter() - started
    statuses = Counter(r.status for r in results)
    alerts = sum(len(services.infra.repos.alerts.list_alerts(f"user{u:02d}", limit=200).items) for u in range(USERS))
    services.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"enabled rules: {enabled:,}; runs: {dict(statuses)}; alerts stored: {alerts:,}")
    errors = {r.error for r in results if r.error}
    for error in sorted(errors)[:5]:
        print(f"error: {error}")
    print(f"tick: {elapsed:.1f} s, peak memory {peak:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_RULES_EVENTS", "1000000")))
    parser.add_argument("--tick", type=Path, help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.tick is not None:
        tick(args.tick)
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        setup(home, args.events)
        child = subprocess.run([sys.executable, "-m", "benchmarks.bench_rules", "--tick", str(home)], check=False)
        if child.returncode != 0:
            raise SystemExit(child.returncode)


if __name__ == "__main__":
    main()
