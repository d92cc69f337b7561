"""PagerDuty Events API v2 `trigger`. The routing (integration) key is the secret.

The dedup key is stable per alert (prefix + alert dedup key), so repeats of the same detection
update one PagerDuty incident instead of paging again.
"""

from __future__ import annotations

import json
from typing import Any

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.integrations.pagerduty import SPEC, PagerDutyConfig
from mantissa_log.outputs.base import DeliveryResult, OutputContext, OutputSpec, Target
from mantissa_log.outputs.common import alert_link, group_text, title, truncate
from mantissa_log.outputs.http import exchange

SEVERITY_MAP = {"critical": "critical", "high": "error", "medium": "warning", "low": "info", "info": "info"}
DEDUP_KEY_LIMIT = 255
SUMMARY_LIMIT = 1024
SAMPLES_SENT = 5
# PagerDuty refuses events over 512 KB; stay well under it.
MAX_EVENT_BYTES = 400_000
TIMEOUT_SECONDS = 10.0


def dedup_key_for(alert: Alert, config: PagerDutyConfig) -> str:
    key = f"{config.dedup_key_prefix}-{alert.dedup_key}" if config.dedup_key_prefix else alert.dedup_key
    return key[:DEDUP_KEY_LIMIT]


def build_payload(alert: Alert, config: PagerDutyConfig, ctx: OutputContext, routing_key: str) -> dict[str, Any]:
    """The exact Events API v2 body."""
    link = alert_link(alert, ctx)
    group = group_text(alert)
    summary = f"{title(alert, ctx)}: {alert.match_count} matching events from {alert.source}"
    if group:
        summary += f" ({group})"
    details: dict[str, Any] = {
        "rule_name": alert.rule_name,
        "rule_title": alert.rule_title,
        "window": {"start": alert.window_start, "end": alert.window_end},
        "match_count": alert.match_count,
        "occurrences": alert.occurrences,
        "group": alert.group,
        "samples": alert.samples[:SAMPLES_SENT],
        "alert_id": alert.alert_id,
        "link": link,
        "test": ctx.test,
    }
    if len(json.dumps(details, default=str)) > MAX_EVENT_BYTES:
        details["samples"] = f"{len(alert.samples)} samples omitted (too large); see {link}"
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key_for(alert, config),
        "payload": {
            "summary": truncate(summary, SUMMARY_LIMIT),
            "source": alert.source,
            "severity": SEVERITY_MAP[alert.severity],
            "timestamp": alert.last_seen,
            "component": alert.source,
            "group": alert.rule_name,
            "class": "mantissa-log-detection",
            "custom_details": details,
        },
        "links": [{"href": link, "text": "View alert in Mantissa Log"}],
        "client": "Mantissa Log",
        "client_url": link,
    }


def body(alert: Alert, target: Target[PagerDutyConfig], ctx: OutputContext) -> bytes:
    payload = build_payload(alert, target.config, ctx, target.require_secret())
    return json.dumps(payload, default=str).encode()


def send(alert: Alert, target: Target[PagerDutyConfig], ctx: OutputContext) -> DeliveryResult:
    response = exchange(
        "POST",
        ctx.pagerduty_events_url,
        ctx=ctx,
        headers={"Content-Type": "application/json"},
        content=body(alert, target, ctx),
        timeout=TIMEOUT_SECONDS,
        timeout_name="PagerDuty output's fixed timeout",
        secrets=[target.require_secret()],
    )
    if isinstance(response, DeliveryResult):
        return response
    dedup = dedup_key_for(alert, target.config)
    try:
        answered = response.json().get("dedup_key")
    except (ValueError, AttributeError):
        answered = None
    return DeliveryResult(
        ok=True,
        status_code=response.status_code,
        message="event accepted by PagerDuty",
        reference=answered if isinstance(answered, str) and answered else dedup,
    )


OUTPUT = OutputSpec(SPEC, send, body)
