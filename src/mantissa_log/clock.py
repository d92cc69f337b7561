"""Time in one format: ISO 8601 UTC with a trailing Z, second precision (the seed's format)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(utc_now())


def epoch_seconds() -> int:
    return int(utc_now().timestamp())
