"""What the overview shows, gathered from the services for one user and one time range."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mantissa_log.clock import iso, parse_iso
from mantissa_log.domain.alerts import ACTIVE_STATUSES, Alert
from mantissa_log.domain.common import SEVERITIES
from mantissa_log.domain.rules import DetectionRule
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from mantissa_log.services.logs import SourceActivity
from mantissa_log.web.charts import Bucket

# range -> (span, bucket size, label format, label every n buckets)
RANGES: dict[str, tuple[timedelta, timedelta, str, int]] = {
    "24h": (timedelta(hours=24), timedelta(hours=1), "%H:%M", 3),
    "7d": (timedelta(days=7), timedelta(hours=6), "%a %d", 4),
    "30d": (timedelta(days=30), timedelta(days=1), "%b %d", 5),
}
RANGE_LABELS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
FRESH = timedelta(hours=1)
STALE = timedelta(hours=24)


def range_start(now: datetime, key: str) -> datetime:
    span, size, _, _ = RANGES[key]
    step = int(size.total_seconds())
    end = datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, tz=now.tzinfo)
    return end - span


@dataclass
class SourceRow:
    info: SourceActivity
    freshness: str  # fresh | stale | silent

    @property
    def in_range(self) -> int:
        return sum(self.info.counts)


@dataclass
class Overview:
    range_key: str
    start: datetime
    end: datetime
    buckets: list[Bucket]
    label_every: int
    alerts: int
    by_severity: dict[str, int]
    active: int
    active_severe: int
    top_rules: list[tuple[str, int]]
    rules_total: int
    rules_enabled: int
    failing: list[DetectionRule]
    undelivered: list[Alert]
    sources: list[SourceRow] = field(default_factory=list)
    bucket_hours: float = 1.0

    def as_context(self) -> dict[str, Any]:
        return {"o": self}


def _all_rules(services: Services, who: Principal) -> list[DetectionRule]:
    rules: list[DetectionRule] = []
    start = None
    while True:
        page = services.rules.list(who, limit=200, start_key=start)
        rules += page.items
        if page.next_key is None:
            return rules
        start = page.next_key


def gather(services: Services, who: Principal, range_key: str, now: datetime) -> Overview:
    span, size, label_format, label_every = RANGES[range_key]
    start = range_start(now, range_key)
    end = start + span
    count = int(span / size)
    buckets = [
        Bucket(
            label=(start + size * i).strftime(label_format),
            title=f"{(start + size * i):%b %d %H:%M} to {(start + size * (i + 1)):%H:%M} UTC",
            counts=dict.fromkeys(SEVERITIES, 0),
        )
        for i in range(count)
    ]
    alerts = list(services.alerts.iter_since(who, iso(start)))
    by_severity: Counter[str] = Counter()
    per_rule: Counter[str] = Counter()
    active = active_severe = 0
    for alert in alerts:
        index = int((parse_iso(alert.created_at) - start) / size)
        if 0 <= index < count:
            buckets[index].counts[alert.severity] += 1
        by_severity[alert.severity] += 1
        per_rule[alert.rule_name] += alert.occurrences  # folded repeats fired too
        if alert.status in ACTIVE_STATUSES:
            active += 1
            active_severe += alert.severity in ("critical", "high")
    rules = _all_rules(services, who)
    failing = [r for r in rules if r.last_execution_status == "error"]
    overview = Overview(
        range_key=range_key,
        start=start,
        end=end,
        buckets=buckets,
        label_every=label_every,
        alerts=len(alerts),
        by_severity={s: by_severity.get(s, 0) for s in SEVERITIES},
        active=active,
        active_severe=active_severe,
        top_rules=sorted(per_rule.items(), key=lambda item: (-item[1], item[0]))[:8],
        rules_total=len(rules),
        rules_enabled=sum(r.enabled == "true" for r in rules),
        failing=sorted(failing, key=lambda r: r.last_execution or "", reverse=True)[:8],
        undelivered=services.alerts.undelivered(who, limit=8),
        bucket_hours=size.total_seconds() / 3600,
    )
    for info in services.logs.activity(start, end, int(size.total_seconds())):
        last = info.last_ingest or info.last_event
        age = None if last is None else now - last
        fresh = "silent" if age is None or age > STALE else "fresh" if age <= FRESH else "stale"
        overview.sources.append(SourceRow(info, fresh))
    return overview
