"""Helpers every sender shares: secrets, titles, links, sample flattening, message scrubbing."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from mantissa_log.domain.alerts import Alert, dedup_key
from mantissa_log.errors import NotFound, SecretStoreError
from mantissa_log.outputs.base import DeliveryResult, OutputContext

ELLIPSIS = "…"
TEST_MARK = "[TEST]"
# Key fields shown for CloudTrail samples, in this order; other sources get their first scalar keys.
CLOUDTRAIL_FIELDS = (
    "eventName",
    "eventSource",
    "userIdentity.arn",
    "sourceIPAddress",
    "awsRegion",
    "errorCode",
)
GENERIC_FIELD_COUNT = 5
# Path segments and query values at least this long are treated as possible tokens.
MIN_SECRET_FRAGMENT = 8
# A whole send (every request, redirect and read of it; an email's whole SMTP session) ends at this
# many times its per-operation timeout: a receiver answering one byte at a time cannot hold a sender.
SEND_DEADLINE_TIMEOUTS = 3


def compact_json(value: Any) -> bytes:
    """A request body as compact UTF-8 JSON; values JSON lacks are written as text (`str`).

    orjson, about ten times `json.dumps` on an alert with its samples (the outbox sends thousands
    a second). What it refuses (integers beyond 64 bits, lone surrogates in a sample) goes to
    `json`, which writes them as before. A NaN or infinity in a sample is written `null` by
    orjson, where `json` writes `NaN` (not JSON: receivers' parsers refuse it); a body that needs
    the fallback keeps `json`'s spelling."""
    try:
        return orjson.dumps(value, default=str)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), default=str).encode()


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def one_line(text: str) -> str:
    """No CR/LF or other line breaks: subjects, summaries and headers are single lines."""
    return " ".join(text.splitlines()).strip()


def title(alert: Alert, ctx: OutputContext) -> str:
    base = f"[{alert.severity.upper()}] {one_line(alert.rule_title)}"
    return f"{TEST_MARK} {base}" if ctx.test else base


def alert_link(alert: Alert, ctx: OutputContext) -> str:
    return f"{ctx.public_url.rstrip('/')}/alerts/{alert.alert_id}"


def window_text(alert: Alert) -> str:
    return f"{alert.window_start} → {alert.window_end}"


def group_text(alert: Alert) -> str | None:
    if not alert.group:
        return None
    return ", ".join(f"{k}={'' if v is None else v}" for k, v in sorted(alert.group.items()))


def alert_facts(alert: Alert) -> list[tuple[str, str]]:
    """The facts every human-readable output shows, in one order."""
    facts = [
        ("Rule", f"{alert.rule_title} ({alert.rule_name})"),
        ("Severity", alert.severity),
        ("Window", window_text(alert)),
        ("Matches", str(alert.match_count)),
        ("Source", alert.source),
    ]
    group = group_text(alert)
    if group:
        facts.append(("Group", group))
    if alert.occurrences > 1:
        facts.append(("Occurrences", f"{alert.occurrences} (last seen {alert.last_seen})"))
    return facts


def scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def flatten(row: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested dicts become dotted keys; lists and scalars become text."""
    out: list[tuple[str, str]] = []
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.extend(flatten(value, f"{name}."))
        else:
            out.append((name, scalar_text(value)))
    return out


def _lookup(row: dict[str, Any], dotted: str) -> Any:
    if dotted in row:  # rows may already be flattened
        return row[dotted]
    node: Any = row
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def key_fields(row: dict[str, Any]) -> list[tuple[str, str]]:
    """The few fields that identify an event at a glance."""
    if _lookup(row, "eventName") is not None:
        picked = [(f, _lookup(row, f)) for f in CLOUDTRAIL_FIELDS]
        return [(f, scalar_text(v)) for f, v in picked if v is not None]
    scalars = [(k, v) for k, v in row.items() if v is not None and not isinstance(v, dict | list)]
    return [(k, scalar_text(v)) for k, v in scalars[:GENERIC_FIELD_COUNT]]


def default_payload(alert: Alert, ctx: OutputContext) -> dict[str, Any]:
    """The alert as plain JSON data: the webhook's default body and the template's `alert`."""
    return {
        "alert_id": alert.alert_id,
        "rule_name": alert.rule_name,
        "rule_title": alert.rule_title,
        "severity": alert.severity,
        "source": alert.source,
        "window": {"start": alert.window_start, "end": alert.window_end},
        "match_count": alert.match_count,
        "group": alert.group,
        "samples": alert.samples,
        "link": alert_link(alert, ctx),
        "dedup_key": alert.dedup_key,
        "test": ctx.test,
    }


SAMPLE_TIME = "2026-01-01T00:00:00Z"


def sample_alert() -> Alert:
    """A plausible alert for checking a configuration at save time (nothing is sent)."""
    return Alert(
        user_id="sample",
        alert_id="sample-alert",
        rule_name="sample-rule",
        rule_title="Sample alert",
        severity="high",
        source="cloudtrail",
        window_start=SAMPLE_TIME,
        window_end=SAMPLE_TIME,
        match_count=1,
        samples=[{"eventName": "ConsoleLogin", "eventSource": "signin.amazonaws.com", "sourceIPAddress": "192.0.2.1"}],
        group={"user": "sample"},
        dedup_key=dedup_key("sample", "sample-rule", {}),
        created_at=SAMPLE_TIME,
        last_seen=SAMPLE_TIME,
        delivery_status="none",
    )


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Last line of defence: a secret value never reaches a stored message."""
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


def url_secrets(url: str) -> list[str]:
    """A secret URL's sensitive parts: a receiver may echo just the token in its path or query."""
    parts = urlsplit(url)
    pieces = [url, parts.path, parts.query]
    pieces += [seg for seg in parts.path.split("/") if len(seg) >= MIN_SECRET_FRAGMENT]
    pieces += [v for _, v in parse_qsl(parts.query) if len(v) >= MIN_SECRET_FRAGMENT]
    # Longest first, so a whole path is replaced before its segments.
    return sorted({p for p in pieces if len(p) > 1}, key=len, reverse=True)


def failed(message: str, *, retryable: bool = False, secrets: Iterable[str] = ()) -> DeliveryResult:
    return DeliveryResult(ok=False, retryable=retryable, message=scrub(message, secrets))


def fetch_secret(ctx: OutputContext, ref: str | None, what: str) -> str | DeliveryResult:
    """The secret's value, or the failure to report (a store outage is worth retrying)."""
    if not ref:
        return failed(f"no {what} is stored for this integration")
    try:
        value = ctx.secret(ref)
    except (NotFound, KeyError):
        return failed(f"the stored {what} was not found")
    except SecretStoreError as exc:
        return failed(f"could not read the {what}: {exc.message}", retryable=True)
    if not value:
        return failed(f"the stored {what} is empty")
    return value
