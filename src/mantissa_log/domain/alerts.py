"""Alerts: stored before any delivery is tried, folded when they repeat within suppression."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from mantissa_log.domain.common import Name, Severity, StrictModel, Timestamp

# routing: stored, destinations not yet resolved; pending: deliveries in flight; then the outcome.
DeliveryStatus = Literal["routing", "pending", "delivered", "partial", "dead", "none"]
MAX_SAMPLES = 10

# Triage: open -> acknowledged -> resolved | false_positive; a closed alert can be reopened.
AlertStatus = Literal["open", "acknowledged", "resolved", "false_positive"]
ALERT_STATUSES: tuple[AlertStatus, ...] = ("open", "acknowledged", "resolved", "false_positive")
# A repeat never folds into a closed alert: it opens a new one (AlertRepository.record_firing).
CLOSED_STATUSES: tuple[AlertStatus, ...] = ("resolved", "false_positive")
ACTIVE_STATUSES: tuple[AlertStatus, ...] = ("open", "acknowledged")
# Where each status may go, the usual next step first.
TRANSITIONS: dict[AlertStatus, tuple[AlertStatus, ...]] = {
    "open": ("acknowledged", "resolved", "false_positive"),
    "acknowledged": ("resolved", "false_positive", "open"),
    "resolved": ("open", "false_positive"),
    "false_positive": ("open", "resolved"),
}
MAX_NOTE = 2000
MAX_TRIAGE_HISTORY = 100
TriageNote = Annotated[str, StringConstraints(max_length=MAX_NOTE)]


class TriageEntry(StrictModel):
    """One status change of an alert: who, when, from what to what, and why."""

    status: AlertStatus
    previous: AlertStatus
    by: str
    at: Timestamp
    note: TriageNote | None = None


class Alert(StrictModel):
    user_id: Name
    # `<window end, compact>-<digest of what it covers>` (see `alert_id_for`): sorts newest first.
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
    # The id the last firing folded into this alert would have had: a repeated run folds once.
    last_firing: str | None = None
    alert_destinations: list[str] = Field(default_factory=list)
    # Hand-off to delivery: "routing" alerts wait for the router, "pending" ones for the outbox.
    delivery_status: DeliveryStatus = "routing"
    # Triage (added to the seed): the current status, the last change, and every change in order.
    status: AlertStatus = "open"
    status_by: str | None = None
    status_at: Timestamp | None = None
    status_note: TriageNote | None = None
    triage: list[TriageEntry] = Field(default_factory=list)
    # Bumped by every status change: the change is a conditional write on the value it read.
    triage_version: int = Field(default=0, ge=0)

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_STATUSES


DeliveryState = Literal["pending", "delivered", "dead", "skipped"]
# Where a delivery ends: it leaves the due queue and is never claimed again.
FinalDeliveryState = Literal["delivered", "dead", "skipped"]


class Delivery(StrictModel):
    """One (alert, integration) pair of the outbox; retried alone when it fails."""

    alert_key: str  # "<user_id>/<alert_id>"
    integration_id: Name
    user_id: Name
    alert_id: str
    integration_type: str
    status: DeliveryState = "pending"
    attempts: int = Field(default=0, ge=0)
    # Retried with backoff until this time, then dead (MANTISSA_DELIVERY_MAX_AGE_SECONDS after routing).
    expires_at: Timestamp
    # In the due queue while pending: `queue` = "due", `due_at` = zero-padded epoch ms.
    queue: Literal["due"] | None = None
    due_at: str | None = None
    lease_owner: str | None = None
    lease_until: float | None = None
    last_error: str | None = None
    last_status_code: int | None = None
    reference: str | None = None
    created_at: Timestamp
    updated_at: Timestamp
    delivered_at: Timestamp | None = None


def alert_key(user_id: str, alert_id: str) -> str:
    return f"{user_id}/{alert_id}"


def due_at(epoch_seconds: float) -> str:
    """Sortable as a string (GSI range keys here are strings): zero-padded milliseconds."""
    return f"{int(epoch_seconds * 1000):015d}"


def dedup_key(user_id: str, rule_name: str, group: dict[str, str | None] | None) -> str:
    """Stable across runs and processes: the same rule and group always give the same key."""
    basis = json.dumps([user_id, rule_name, sorted((group or {}).items())], separators=(",", ":"))
    return hashlib.sha256(basis.encode()).hexdigest()[:32]


def compact_time(timestamp: str) -> str:
    """`2026-11-27T10:00:00.000000Z` -> `20261127T100000000000Z`: sortable and URL-safe."""
    return timestamp.replace("-", "").replace(":", "").replace(".", "")


def alert_id_for(
    user_id: str, rule_name: str, window_from: str, window_end: str, group: dict[str, str | None] | None
) -> str:
    """The id of the alert for what a run covered: (user, rule, window, group).

    The same run, repeated after a crash, derives the same id, so it finds its alert instead of
    opening a second one. Ids start with the window's end, so they sort by time.
    """
    basis = json.dumps(
        [user_id, rule_name, window_from, window_end, sorted((group or {}).items())], separators=(",", ":")
    )
    return f"{compact_time(window_end)}-{hashlib.sha256(basis.encode()).hexdigest()[:16]}"
