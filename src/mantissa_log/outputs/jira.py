"""Jira REST create-issue (v2 wiki text or v3 Atlassian Document Format). The API token is the secret.

A repeat of an alert whose issue is still open becomes a comment on that issue (found through
`ctx.jira_ledger`); once the issue is done, or gone, the next repeat opens a new one.
Test alerts always open a fresh issue and are not remembered.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.integrations.jira import SPEC, JiraConfig
from mantissa_log.outputs.base import DeliveryResult, OutputContext, OutputSpec, Target
from mantissa_log.outputs.common import alert_facts, alert_link, title, truncate
from mantissa_log.outputs.http import exchange
from mantissa_log.outputs.wire import Answer

SUMMARY_LIMIT = 255
SAMPLES_SHOWN = 3
SAMPLES_CHARS = 20_000  # Jira text fields stop at 32,767 characters
TIMEOUT_SECONDS = 15.0
ISSUE_KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]*-\d+$")
# Wiki markup that builds links, macros and images: escaped in values that come from logs.
WIKI_SPECIAL = re.compile(r"([\[\]{}|!])")


def api_base(config: JiraConfig) -> str:
    return f"{config.jira_url.rstrip('/')}/rest/api/{config.api_version or '2'}"


def _facts(alert: Alert) -> list[tuple[str, str]]:
    return alert_facts(alert)


def _samples_json(alert: Alert) -> str | None:
    if not alert.samples:
        return None
    text = json.dumps(alert.samples[:SAMPLES_SHOWN], indent=2, sort_keys=True, default=str)
    return truncate(text, SAMPLES_CHARS)


def wiki_escape(value: str) -> str:
    return WIKI_SPECIAL.sub(r"\\\1", value)


def _wiki(alert: Alert, ctx: OutputContext, lead: str) -> str:
    lines = [lead, ""]
    lines += [f"*{name}:* {wiki_escape(value)}" for name, value in _facts(alert)]
    lines.append(f"*Alert:* [View in Mantissa Log|{alert_link(alert, ctx)}]")
    samples = _samples_json(alert)
    if samples:
        # A sample cannot close the block early: its own {noformat} is defused.
        lines += ["", "*Sample events:*", "{noformat}", samples.replace("{noformat}", "{ noformat}"), "{noformat}"]
    return "\n".join(lines)


def _text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value or "-"}  # ADF refuses empty text nodes
    if marks:
        node["marks"] = list(marks)
    return node


def _adf(alert: Alert, ctx: OutputContext, lead: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "paragraph", "content": [_text(lead, {"type": "strong"})]}]
    for name, value in _facts(alert):
        content.append({"type": "paragraph", "content": [_text(f"{name}: ", {"type": "strong"}), _text(value)]})
    link = {"type": "link", "attrs": {"href": alert_link(alert, ctx)}}
    content.append({"type": "paragraph", "content": [_text("View in Mantissa Log", link)]})
    samples = _samples_json(alert)
    if samples:
        content.append({"type": "paragraph", "content": [_text("Sample events:", {"type": "strong"})]})
        content.append({"type": "codeBlock", "attrs": {"language": "json"}, "content": [_text(samples)]})
    return {"type": "doc", "version": 1, "content": content}


def _body(alert: Alert, config: JiraConfig, ctx: OutputContext, lead: str) -> str | dict[str, Any]:
    return _adf(alert, ctx, lead) if config.api_version == "3" else _wiki(alert, ctx, lead)


def build_issue(alert: Alert, config: JiraConfig, ctx: OutputContext) -> dict[str, Any]:
    """The exact create-issue body."""
    head = title(alert, ctx)
    fields: dict[str, Any] = {
        "project": {"key": config.project_key},
        "issuetype": {"name": config.issue_type},
        "summary": truncate(head, SUMMARY_LIMIT),
        "description": _body(alert, config, ctx, head),
    }
    priority = config.priority_mapping.get(alert.severity)
    if priority:
        fields["priority"] = {"name": priority}
    if config.assignee:
        fields["assignee"] = {"accountId": config.assignee} if config.api_version == "3" else {"name": config.assignee}
    if config.labels:
        fields["labels"] = list(config.labels)
    return {"fields": fields}


def build_comment(alert: Alert, config: JiraConfig, ctx: OutputContext) -> dict[str, Any]:
    """The exact add-comment body for a repeat of the alert."""
    lead = f"Alert fired again: {title(alert, ctx)}"
    return {"body": _body(alert, config, ctx, lead)}


def auth_header(config: JiraConfig, token: str) -> str:
    if config.username:
        return "Basic " + base64.b64encode(f"{config.username}:{token}".encode()).decode("ascii")
    return f"Bearer {token}"


class _Jira:
    """One delivery's connection details, so each call below stays a line."""

    def __init__(self, config: JiraConfig, ctx: OutputContext, token: str) -> None:
        self.base = api_base(config)
        self.ctx = ctx
        self.auth = auth_header(config, token)
        self.secrets = (token, self.auth.split(" ", 1)[1])

    def call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Answer | DeliveryResult:
        headers = {"Authorization": self.auth, "Accept": "application/json"}
        content = b""
        if payload is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(payload, default=str).encode()
        url = self.base + path
        return exchange(
            method,
            url,
            ctx=self.ctx,
            headers=headers,
            content=content,
            timeout=TIMEOUT_SECONDS,
            timeout_name="Jira output's fixed timeout",
            secrets=self.secrets,
        )

    def is_open(self, issue_key: str) -> bool | DeliveryResult:
        """Whether the issue still exists and is not done; a failure other than 404 is returned."""
        answer = self.call("GET", f"/issue/{quote(issue_key)}?fields=status")
        if isinstance(answer, DeliveryResult):
            return False if answer.status_code == 404 else answer
        try:
            category = answer.json()["fields"]["status"]["statusCategory"]["key"]
        except (ValueError, KeyError, TypeError):
            return False
        return bool(category != "done")


def body(alert: Alert, target: Target[JiraConfig], ctx: OutputContext) -> bytes:
    """The create-issue body (a repeat on an open issue sends `build_comment` instead)."""
    return json.dumps(build_issue(alert, target.config, ctx), default=str).encode()


def send(alert: Alert, target: Target[JiraConfig], ctx: OutputContext) -> DeliveryResult:
    config = target.config
    jira = _Jira(config, ctx, target.require_secret())
    ledger = None if ctx.test else ctx.jira_ledger
    ledger_key = f"{target.integration.user_id}/{target.integration.integration_id}"

    existing = ledger.issue_for(ledger_key, alert.dedup_key) if ledger else None
    if ledger and existing:
        state = jira.is_open(existing) if ISSUE_KEY_RE.match(existing) else False
        if isinstance(state, DeliveryResult):
            return state
        if state:
            answer = jira.call("POST", f"/issue/{quote(existing)}/comment", build_comment(alert, config, ctx))
            if isinstance(answer, DeliveryResult):
                return answer
            return DeliveryResult(
                ok=True, status_code=answer.status_code, message=f"commented on {existing}", reference=existing
            )
        ledger.forget(ledger_key, alert.dedup_key)

    answer = jira.call("POST", "/issue", build_issue(alert, config, ctx))
    if isinstance(answer, DeliveryResult):
        return answer
    try:
        issue_key = answer.json().get("key")
    except (ValueError, AttributeError):
        issue_key = None
    if not isinstance(issue_key, str) or not ISSUE_KEY_RE.match(issue_key):
        return DeliveryResult(ok=True, status_code=answer.status_code, message="issue created (Jira gave no key)")
    if ledger:
        ledger.remember(ledger_key, alert.dedup_key, issue_key)
    return DeliveryResult(ok=True, status_code=answer.status_code, message=f"created {issue_key}", reference=issue_key)


OUTPUT = OutputSpec(SPEC, send, body)
