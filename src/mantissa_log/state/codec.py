"""Canonical JSON for stored items: the same item always gives the same bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def encode(item: Mapping[str, Any]) -> str:
    return encode_value(item)


def encode_value(value: Any) -> str:
    """Any JSON value in the same canonical form (a value set inside a stored item)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decode(text: str | bytes) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a stored item must be a JSON object")
    return value
