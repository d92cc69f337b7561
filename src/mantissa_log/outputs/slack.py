"""Slack incoming webhook with Block Kit. The webhook URL is the secret.

Sample values come from logs, i.e. from whoever wrote them: every interpolated value is
mrkdwn-escaped (&, <, >) so an event cannot inject `<!channel>` or a disguised link.
"""

from __future__ import annotations

import json
from typing import Any

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.integrations.slack import SPEC, SlackConfig
from mantissa_log.outputs.base import DeliveryResult, OutputContext, OutputSpec, Target
from mantissa_log.outputs.common import (
    ELLIPSIS,
    alert_link,
    group_text,
    key_fields,
    title,
    truncate,
    url_secrets,
    window_text,
)
from mantissa_log.outputs.http import exchange

# Block Kit limits.
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
TEXT_LIMIT = 3000
SAMPLES_SHOWN = 3
TIMEOUT_SECONDS = 10.0


def escape(text: str, limit: int | None = None) -> str:
    """mrkdwn-escape, cut to `limit` characters without splitting an entity."""
    out: list[str] = []
    size = 0
    for ch in text:
        piece = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(ch, ch)
        if limit is not None and size + len(piece) > limit - 1:
            return "".join(out) + ELLIPSIS
        out.append(piece)
        size += len(piece)
    return "".join(out)


def _mention(alert: Alert, config: SlackConfig) -> str | None:
    if config.mention_on_critical and config.mention_user and alert.severity == "critical":
        return config.mention_user
    return None


def _field(name: str, value: str) -> dict[str, str]:
    label = f"*{name}*\n"
    return {"type": "mrkdwn", "text": label + escape(value, FIELD_LIMIT - len(label))}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _sample_block(number: int, row: dict[str, Any]) -> dict[str, Any] | None:
    pairs = key_fields(row)
    if not pairs:
        return None
    label = f"*Sample {number}*"
    lines = "\n".join(f"• {escape(k, 200)}: {escape(v, 500)}" for k, v in pairs)
    text = f"{label}\n{lines}"
    return _section(text if len(text) <= SECTION_LIMIT else text[: SECTION_LIMIT - 1] + ELLIPSIS)


def build_payload(alert: Alert, config: SlackConfig, ctx: OutputContext) -> dict[str, Any]:
    """The exact JSON posted to the webhook."""
    head = title(alert, ctx)
    mention = _mention(alert, config)
    fields = [
        ("Severity", alert.severity),
        ("Rule", f"{alert.rule_title} ({alert.rule_name})"),
        ("Window", window_text(alert)),
        ("Matches", str(alert.match_count)),
        ("Source", alert.source),
    ]
    group = group_text(alert)
    if group:
        fields.append(("Group", group))
    if alert.occurrences > 1:
        fields.append(("Occurrences", str(alert.occurrences)))

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(head, HEADER_LIMIT), "emoji": True}}
    ]
    if mention:
        blocks.append(_section(f"{mention} critical alert"))
    blocks.append({"type": "section", "fields": [_field(n, v) for n, v in fields[:MAX_FIELDS]]})
    for number, row in enumerate(alert.samples[:SAMPLES_SHOWN], start=1):
        block = _sample_block(number, row)
        if block:
            blocks.append(block)
    blocks.append(_section(f"<{alert_link(alert, ctx)}|View alert in Mantissa Log>"))

    summary = f"{head}: {alert.match_count} matching events from {alert.source} ({window_text(alert)})"
    text = escape(summary, TEXT_LIMIT - (len(mention) + 1 if mention else 0))
    payload: dict[str, Any] = {"text": f"{mention} {text}" if mention else text, "blocks": blocks}
    if config.channel:
        payload["channel"] = config.channel
    if mention and mention.startswith("@"):
        payload["link_names"] = True  # lets legacy webhooks turn @name into a real mention
    return payload


def body(alert: Alert, target: Target[SlackConfig], ctx: OutputContext) -> bytes:
    return json.dumps(build_payload(alert, target.config, ctx), ensure_ascii=False).encode()


def send(alert: Alert, target: Target[SlackConfig], ctx: OutputContext) -> DeliveryResult:
    url = target.require_secret()  # the webhook URL
    response = exchange(
        "POST",
        url,
        ctx=ctx,
        headers={"Content-Type": "application/json; charset=utf-8"},
        content=body(alert, target, ctx),
        timeout=TIMEOUT_SECONDS,
        timeout_name="Slack output's fixed timeout",
        secrets=url_secrets(url),
    )
    if isinstance(response, DeliveryResult):
        return response
    return DeliveryResult(ok=True, status_code=response.status_code, message="delivered to Slack")


OUTPUT = OutputSpec(SPEC, send, body)
