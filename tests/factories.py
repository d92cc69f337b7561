"""Builders for test data that many suites need, with only the interesting parts as arguments."""

from __future__ import annotations

import time
from typing import Any

from mantissa_log.domain.alerts import Alert, alert_id_for, dedup_key

T = "2026-11-27T10:00:00Z"


def make_alert(
    n: int = 1,
    *,
    user: str = "alice",
    rule_name: str = "trail-stop",
    group: dict[str, str | None] | None = None,
    **fields: Any,
) -> Alert:
    """An alert whose id sorts by `n`; its dedup key follows (user, rule, group)."""
    values: dict[str, Any] = {
        "user_id": user,
        "alert_id": alert_id_for(user, rule_name, T, f"2026-11-27T10:00:00.{n:06d}Z", group),
        "rule_name": rule_name,
        "rule_title": "CloudTrail logging stopped",
        "severity": "high",
        "source": "cloudtrail",
        "window_start": T,
        "window_end": T,
        "match_count": n,
        "group": group,
        "dedup_key": dedup_key(user, rule_name, group),
        "created_at": T,
        "last_seen": T,
    }
    return Alert.model_validate(values | fields)


def now() -> int:
    """Epoch seconds of the wall clock: TTLs (suppression claims) are judged by the stores against it."""
    return int(time.time())
