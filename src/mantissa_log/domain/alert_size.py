"""Alerts sized to fit a DynamoDB item (400 KB with every attribute), whatever the events held.

Samples are copies of matched events and group values come from them: three 30 MB events made a
94 MB alert, which DynamoDB refuses and which `GET /alerts` returned whole. Before an alert is
stored:

- each group value and the title are cut to MAX_TEXT characters (the dedup key and the alert id
  are derived from the full values first, so grouping is unchanged);
- a sample over MAX_SAMPLE_BYTES of JSON is replaced by a marker with its size and a preview;
- samples are kept in order while they fit SAMPLES_BUDGET bytes in total; the rest are replaced
  by one marker counting them.

A list of alerts shows each alert's samples within LIST_SAMPLE_BYTES (`preview`); one alert shows
all it stored.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_json

from mantissa_log.domain.alerts import Alert

MAX_TEXT = 1024
MAX_SAMPLE_BYTES = 64 << 10
SAMPLES_BUDGET = 256 << 10  # leaves >100 KB of a 400 KB item for everything else
LIST_SAMPLE_BYTES = 8 << 10
PREVIEW_CHARS = 512
MARK = "_mantissa_truncated"


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fit_samples(samples: list[dict[str, Any]], budget: int, per_sample: int) -> list[dict[str, Any]]:
    """Samples within `budget` bytes of JSON in total and `per_sample` each, with markers for the rest."""
    kept: list[dict[str, Any]] = []
    used = 0
    for position, sample in enumerate(samples):
        size = _json_size(sample)
        if size > per_sample:
            text = json.dumps(sample, ensure_ascii=False, default=str)
            sample = {MARK: "sample too large", "bytes": size, "preview": text[:PREVIEW_CHARS]}
            size = _json_size(sample)
        if used + size > budget:
            kept.append({MARK: "samples omitted to fit the alert", "omitted": len(samples) - position})
            break
        kept.append(sample)
        used += size
    return kept


def fit_alert(alert: Alert) -> Alert:
    """The alert as it may be stored: bounded title, group values and samples (see the module doc)."""
    group = None if alert.group is None else {_cut(k): None if v is None else _cut(v) for k, v in alert.group.items()}
    return alert.model_copy(
        update={
            "rule_title": _cut(alert.rule_title),
            "group": group,
            "samples": fit_samples(alert.samples, SAMPLES_BUDGET, MAX_SAMPLE_BYTES),
        }
    )


def preview(alert: Alert) -> Alert:
    """The alert as a list shows it: samples within LIST_SAMPLE_BYTES."""
    # Every listed alert is measured: pydantic-core's encoder (about 3x faster than `json.dumps`,
    # within a few bytes of it) settles the usual small samples; only those near or over the limit
    # are measured exactly, so where the cut falls is unchanged.
    if len(to_json(alert.samples, fallback=str)) <= LIST_SAMPLE_BYTES // 2:
        return alert
    if _json_size(alert.samples) <= LIST_SAMPLE_BYTES:
        return alert
    return alert.model_copy(update={"samples": fit_samples(alert.samples, LIST_SAMPLE_BYTES, LIST_SAMPLE_BYTES)})
