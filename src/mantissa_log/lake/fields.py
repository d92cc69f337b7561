"""Event time, event id and the canonical raw text, shared by every parser."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMBER = re.compile(r"-?\d+(?:\.\d*)?")
_SURROGATE = re.compile("[\ud800-\udfff]")
# C-accelerated encoder; check_circular is pointless for values that came out of json.loads.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False)


def epoch_time(value: float) -> datetime | None:
    """An epoch number in seconds, milliseconds, microseconds or nanoseconds, told apart by size.

    1e11 seconds is the year 5138 and 1e11 ms is 1973, so the ranges do not overlap for real logs.
    """
    magnitude = abs(value)
    if magnitude < 1e11:
        micros = value * 1_000_000
    elif magnitude < 1e14:
        micros = value * 1_000
    elif magnitude < 1e17:
        micros = value
    else:
        micros = value / 1_000
    try:
        return EPOCH + timedelta(microseconds=round(micros))
    except OverflowError:
        return None


def parse_time(value: object) -> datetime | None:
    """ISO 8601 text (naive means UTC) or an epoch number / numeric text; None when unusable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return epoch_time(value) if value == value else None  # NaN never equals itself
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return epoch_time(int(text) if text.lstrip("-").isdigit() else float(text))
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def lookup(event: Mapping[str, Any], path: str) -> Any:
    """A top-level key, else a dotted path into nested objects (`a.b.c`)."""
    if path in event:
        return event[path]
    node: Any = event
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def first_time(event: Mapping[str, Any], fields: tuple[str, ...]) -> datetime | None:
    """The first of `fields` that holds a usable time."""
    for name in fields:
        parsed = parse_time(lookup(event, name))
        if parsed is not None:
            return parsed
    return None


def first_id(event: Mapping[str, Any], fields: tuple[str, ...]) -> str | None:
    """The first of `fields` holding a non-empty string or a number, as text."""
    for name in fields:
        value = lookup(event, name)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    return None


def canonical_json(event: Any) -> tuple[str, bool]:
    """(compact JSON text, whether lone surrogates had to be replaced).

    Raises ValueError for NaN or infinite numbers (Python accepts `NaN` and `1e400` on input,
    DuckDB's JSON reader does not). Lone surrogates (`"\\ud800"`) are valid JSON escapes but
    not Unicode: DuckDB refuses them, so they become U+FFFD instead of dropping the whole event
    (dropping would let anyone who controls a string field hide an event).
    """
    raw = _ENCODER.encode(event)
    if raw.isascii():
        return raw, False
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", raw), True
    return raw, False
