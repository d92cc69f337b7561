"""Alerts: stored before any delivery is tried, folded when they repeat within suppression."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field

from mantissa_log.domain.common import Name, Severity, StrictModel, Timestamp

DeliveryStatus = Literal["pending", "delivered", "partial", "dead", "none"]
MAX_SAMPLES = 10


class Alert(StrictModel):
    user_id: Name
    # Sortable: `<created_at compact>-<random>`, so a descending query is newest first.
    alert_id: str
    rule_name: Name
    rule_title: str
    rule_id: str | None = None
    severity: Severity
    source: str
    window_start: Timestamp
    window_end: Timestamp
    match_count: int = Field(ge=0)
    group: dict[str, str | None] | None = None
    samples: list[dict[str, Any]] = Field(default_factory=list)
    dedup_key: str
    created_at: Timestamp
    last_seen: Timestamp
    # How many firings were folded into this alert (1 = only the first).
    occurrences: int = Field(default=1, ge=1)
    alert_destinations: list[str] = Field(default_factory=list)
    # Hand-off to delivery (issue 4): "pending" alerts are waiting for the outbox workers.
    delivery_status: DeliveryStatus = "pending"


def dedup_key(user_id: str, rule_name: str, group: dict[str, str | None] | None) -> str:
    """Stable across runs and processes: the same rule and group always give the same key."""
    basis = json.dumps([user_id, rule_name, sorted((group or {}).items())], separators=(",", ":"))
    return hashlib.sha256(basis.encode()).hexdigest()[:32]
