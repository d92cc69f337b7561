"""Templates: one Jinja2 environment (autoescaped), with the filters the pages share."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from mantissa_log.clock import as_utc, iso, parse_iso
from mantissa_log.domain.common import SEVERITIES
from mantissa_log.web.samples import entity_of

SEVERITY_LABELS = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info"}
STATUS_LABELS = {
    "open": "Open",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "false_positive": "False positive",
}


def ago(value: str | datetime | None, now: datetime) -> str:
    """`4m ago`, `3h ago`, `2d ago` (`in 5m` for the future); `never` for nothing."""
    if value is None or value == "":
        return "never"
    moment = as_utc(value) if isinstance(value, datetime) else parse_iso(value)
    seconds = int((now - moment).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        text = f"{seconds}s"
    elif seconds < 3600:
        text = f"{round(seconds / 60)}m"
    elif seconds < 86_400 * 2:
        text = f"{seconds // 3600}h"
    else:
        text = f"{seconds // 86_400}d"
    if text == "0s":
        return "just now"
    return f"in {text}" if future else f"{text} ago"


def timestamp(value: str | datetime | None) -> str:
    """`2026-11-27 10:00:00 UTC`: one absolute format everywhere (titles and tooltips)."""
    if value is None or value == "":
        return "—"
    moment = as_utc(value) if isinstance(value, datetime) else parse_iso(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    if digits:
        return f"{value:,.{digits}f}"
    return f"{round(value):,}"


def size(value: int | float | None) -> str:
    """Bytes as people read them: `812 B`, `4.2 KB`, `1.3 GB`."""
    if value is None:
        return "—"
    units = ("B", "KB", "MB", "GB", "TB")
    amount, index = float(value), 0
    while amount >= 1024 and index < len(units) - 1:
        amount, index = amount / 1024, index + 1
    return f"{amount:,.0f} B" if index == 0 else f"{amount:,.1f} {units[index]}"


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def cell(value: Any, limit: int = 160) -> str:
    """A table cell's text: scalars as they are, structures as compact JSON, long text shortened."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("mantissa_log.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ts"] = timestamp
    env.filters["num"] = number
    env.filters["pretty_json"] = pretty_json
    env.filters["bytes"] = size
    env.filters["cell"] = cell
    env.filters["sev_label"] = lambda s: SEVERITY_LABELS.get(str(s), str(s))
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(str(s), str(s).replace("_", " "))
    env.globals["SEVERITIES"] = SEVERITIES
    env.globals["STATUS_LABELS"] = STATUS_LABELS
    env.globals["Markup"] = Markup
    env.globals["ago"] = ago
    env.globals["entity_of"] = entity_of
    env.filters["from_epoch"] = lambda seconds: iso(datetime.fromtimestamp(int(seconds), UTC))
    return env


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(context)
