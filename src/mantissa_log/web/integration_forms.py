"""One form per integration type, with every option of the seed's config (and ours), in both directions:
a stored config shown as form values, and a posted form read back into a config.

The secret is never shown: the form only says whether one is stored, and a blank secret field
keeps it. Server-managed references (`webhook_url_secret`, `service_key`) are not form fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from mantissa_log.domain.common import SEVERITIES
from mantissa_log.errors import ValidationFailed
from mantissa_log.web.forms import Form

Kind = Literal["text", "select", "severities", "bool", "int", "float", "textarea", "list", "headers", "priorities"]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: Kind = "text"
    help: str = ""
    options: tuple[str, ...] = ()
    required: bool = False
    placeholder: str = ""
    wide: bool = False  # a whole row of the form (long values)


TYPE_LABELS = {"slack": "Slack", "jira": "Jira", "pagerduty": "PagerDuty", "email": "Email", "webhook": "Webhook"}
TYPE_HELP = {
    "slack": "Posts each alert to a channel through an incoming webhook.",
    "jira": "Opens an issue per alert (a repeat comments on the open issue).",
    "pagerduty": "Triggers an incident through the Events API v2.",
    "email": "Sends a text and HTML message through the server's SMTP relay.",
    "webhook": "POSTs JSON (or your template) to any URL, signed with the secret when one is set.",
}
SECRET_HELP = {
    "slack": ("Incoming-webhook URL", "https://hooks.slack.com/services/…", True),
    "jira": ("API token", "the token of the account below", True),
    "pagerduty": ("Routing key", "the integration key of the service", True),
    "webhook": ("Secret", "optional: signs every body (X-Mantissa-Signature) and fills ${SECRET} in headers", False),
}

FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "slack": (
        FieldSpec("channel", "Channel", placeholder="siem-alerts", help="Overrides the webhook's own channel."),
        FieldSpec("severity_filter", "Severities sent", "severities", required=True),
        FieldSpec("mention_on_critical", "Mention someone on critical alerts", "bool"),
        FieldSpec("mention_user", "Who to mention", placeholder="@oncall", help="@name, or <@U123> / <!subteam^ID>."),
    ),
    "jira": (
        FieldSpec("jira_url", "Jira URL", required=True, placeholder="https://company.atlassian.net", wide=True),
        FieldSpec("project_key", "Project key", required=True, placeholder="SEC"),
        FieldSpec("issue_type", "Issue type", placeholder="Task"),
        FieldSpec("priority_mapping", "Priority per severity", "priorities"),
        FieldSpec("assignee", "Assignee", placeholder="security-team"),
        FieldSpec(
            "labels", "Labels", "list", placeholder="mantissa-log, automated", help="Separated by commas or spaces."
        ),
        FieldSpec(
            "username",
            "Account (email)",
            placeholder="bot@company.com",
            help="Jira Cloud: the account the token belongs to.",
        ),
        FieldSpec("api_version", "REST API version", "select", options=("", "2", "3"), help="Empty means 2."),
    ),
    "pagerduty": (
        FieldSpec("severity_threshold", "Send alerts at or above", "select", options=SEVERITIES),
        FieldSpec("dedup_key_prefix", "Dedup key prefix", placeholder="mantissa-log"),
    ),
    "email": (
        FieldSpec(
            "recipients",
            "Recipients",
            "list",
            required=True,
            placeholder="security@company.com, oncall@company.com",
            wide=True,
        ),
        FieldSpec("from_address", "From", required=True, placeholder="mantissa-log@company.com"),
        FieldSpec("severity_filter", "Severities sent", "severities", required=True),
        FieldSpec("include_query_results", "Include matched events", "bool"),
        FieldSpec("max_results_in_email", "Events per email, at most", "int"),
    ),
    "webhook": (
        FieldSpec("url", "URL", required=True, placeholder="https://siem.company.com/api/alerts", wide=True),
        FieldSpec("method", "Method", "select", options=("POST", "PUT", "PATCH")),
        FieldSpec("payload_template", "Payload", "select", options=("default", "custom")),
        FieldSpec(
            "headers",
            "Headers",
            "headers",
            placeholder="Authorization: Bearer ${SECRET}",
            help="One Name: value per line; ${SECRET} is replaced by the secret.",
        ),
        FieldSpec(
            "template",
            "Template (Jinja2, for a custom payload)",
            "textarea",
            placeholder='{"text": "{{ alert.rule_title }}"}',
        ),
        FieldSpec("retry_count", "Immediate retries", "int"),
        FieldSpec("timeout_seconds", "Timeout (seconds)", "float"),
    ),
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "slack": {"severity_filter": list(SEVERITIES)},
    "jira": {
        "issue_type": "Task",
        "priority_mapping": {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"},
    },
    "pagerduty": {"severity_threshold": "high", "dedup_key_prefix": "mantissa-log"},
    "email": {"severity_filter": list(SEVERITIES), "max_results_in_email": 10},
    "webhook": {"method": "POST", "payload_template": "default", "retry_count": 3, "timeout_seconds": 30},
}


def display_values(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config as the form shows it (lists as text, headers one per line)."""
    shown: dict[str, Any] = {}
    for key, value in config.items():
        if key == "headers" and isinstance(value, dict):
            shown[key] = "\n".join(f"{k}: {v}" for k, v in value.items())
        elif key in ("labels", "recipients") and isinstance(value, list):
            shown[key] = ", ".join(str(v) for v in value)
        elif isinstance(value, float) and value.is_integer():
            shown[key] = int(value)
        else:
            shown[key] = value
    return shown


def _number(form: Form, spec: FieldSpec, kind: type[int] | type[float]) -> int | float | None:
    text = form.text(spec.name)
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise ValidationFailed("must be a number", field=f"config.{spec.name}") from None


def _headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValidationFailed(f"line {number}: write `Name: value`", field="config.headers")
        headers[name.strip()] = value.strip()
    return headers


def config_from_form(integration_type: str, form: Form) -> dict[str, Any]:
    """The config a posted form describes; empty fields are left out (the model's defaults apply)."""
    config: dict[str, Any] = {}
    for spec in FIELDS[integration_type]:
        value: Any
        if spec.kind == "bool":
            value = form.checked(spec.name)
        elif spec.kind == "severities":
            value = [s for s in SEVERITIES if s in form.getlist(spec.name)]
        elif spec.kind in ("int", "float"):
            value = _number(form, spec, int if spec.kind == "int" else float)
        elif spec.kind == "list":
            value = [part for part in re.split(r"[\s,;]+", form.get(spec.name)) if part] or None
        elif spec.kind == "headers":
            value = _headers(form.get(spec.name))
        elif spec.kind == "priorities":
            value = {s: form.text(f"{spec.name}.{s}") for s in SEVERITIES if form.text(f"{spec.name}.{s}")} or None
        elif spec.kind == "textarea":
            value = form.get(spec.name) or None
        else:
            value = form.text(spec.name)
        if value is not None:
            config[spec.name] = value
    return config


def posted_values(integration_type: str, form: Form) -> dict[str, Any]:
    """What the user typed, to show the form again after an error (never the secret)."""
    shown: dict[str, Any] = {}
    for spec in FIELDS[integration_type]:
        if spec.kind == "bool":
            shown[spec.name] = form.checked(spec.name)
        elif spec.kind == "severities":
            shown[spec.name] = form.getlist(spec.name)
        elif spec.kind == "priorities":
            shown[spec.name] = {s: form.get(f"{spec.name}.{s}") for s in SEVERITIES}
        else:
            shown[spec.name] = form.get(spec.name)
    return shown
