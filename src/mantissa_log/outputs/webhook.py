"""Custom webhook: our JSON or the user's Jinja2 template, signed with the integration's secret.

Signature: `X-Mantissa-Signature: sha256=<hex>` is HMAC-SHA256 over the exact body bytes, keyed
with the integration's stored secret (the same value `${SECRET}` stands for in headers).
Receivers recompute it over the raw body with that secret and compare in constant time.
Without a stored secret no signature is sent (an unkeyed hash would prove nothing).

`X-Mantissa-Delivery` is an idempotency key: taken from `ctx.extra_headers` when the outbox sets
it, else `<alert_id>:<integration_id>`, stable across retries. `ctx.extra_headers` are sent too.

Templates run in Jinja2's immutable sandbox with StrictUndefined (a misspelt field fails the
delivery loudly, naming the template, instead of silently sending an empty value), in a separate
worker process with hard CPU, memory and wall-clock limits (`template_pool`): whatever a template
does, it cannot hold a delivery thread past its deadline or grow the server. A template is also
rendered once against a sample alert when it is saved, so most bad templates never get stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import quote

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.integrations.webhook import SECRET_PLACEHOLDER, SPEC, WebhookConfig
from mantissa_log.errors import ValidationFailed
from mantissa_log.outputs.base import DeliveryResult, OutputContext, OutputSpec, PayloadError, Target
from mantissa_log.outputs.common import compact_json, default_payload, failed, sample_alert
from mantissa_log.outputs.http import exchange
from mantissa_log.outputs.template_pool import TemplateError, shared_renderer

SIGNATURE_HEADER = "X-Mantissa-Signature"
TIMESTAMP_HEADER = "X-Mantissa-Timestamp"
DELIVERY_HEADER = "X-Mantissa-Delivery"
MAX_BODY_BYTES = 1 << 20


class TemplateFailed(PayloadError):
    pass


def template_failure(exc: TemplateError) -> str:
    """How a template error reads in a delivery's error and at save time."""
    if exc.kind == "syntax":
        return f"webhook template has a syntax error on line {exc.line}: {exc.message}"
    if exc.kind == "limit":
        return f"webhook template exceeded its limits: {exc.message}"
    return f"webhook template failed to render: {exc.message}"


def _render(template: str, alert: Alert, ctx: OutputContext) -> bytes:
    """The template's output, rendered in an isolated worker process (see `template_pool`)."""
    # JSON-compatible data only crosses into the worker (sample values may be any JSON).
    data = json.loads(json.dumps(default_payload(alert, ctx), default=str))
    return (ctx.templates or shared_renderer()).render(template, data)


def render_body(alert: Alert, config: WebhookConfig, ctx: OutputContext) -> bytes:
    """The exact body bytes. Raises TemplateFailed for a bad custom template."""
    if config.payload_template != "custom" or not config.template:
        return compact_json(default_payload(alert, ctx))
    try:
        return _render(config.template, alert, ctx)
    except TemplateError as exc:
        raise TemplateFailed(template_failure(exc)) from None


def check_config(config: WebhookConfig, ctx: OutputContext) -> None:
    """At save time: a custom template must compile, and render a sample alert within its limits.

    A field the sample alert lacks is not an error here (real alerts carry their own samples);
    a syntax error or a breached limit is.
    """
    if config.payload_template != "custom" or not config.template:
        return
    try:
        _render(config.template, sample_alert(), ctx)
    except TemplateError as exc:
        if exc.kind != "render":
            raise ValidationFailed(template_failure(exc), field="config.template", line=exc.line) from None


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_headers(alert: Alert, target: Target[WebhookConfig], ctx: OutputContext, body: bytes) -> dict[str, str]:
    """User headers with `${SECRET}` filled in, then ours (which the user cannot override)."""
    secret = target.secret
    headers: dict[str, str] = {"Content-Type": "application/json"}
    user = {k: v.replace(SECRET_PLACEHOLDER, secret) if secret else v for k, v in target.config.headers.items()}
    for name, value in user.items():
        if name.lower() == "content-type":
            headers.pop("Content-Type", None)
        headers[name] = value
    ours = {k: v for k, v in ctx.extra_headers.items()}
    ours.setdefault(DELIVERY_HEADER, f"{alert.alert_id}:{target.integration.integration_id}")
    ours[TIMESTAMP_HEADER] = str(int(time.time()))
    if secret:
        ours[SIGNATURE_HEADER] = sign(secret, body)
    lowered = {k.lower() for k in ours}
    headers = {k: v for k, v in headers.items() if k.lower() not in lowered}
    headers.update(ours)
    return headers


def body(alert: Alert, target: Target[WebhookConfig], ctx: OutputContext) -> bytes:
    return render_body(alert, target.config, ctx)


def send(alert: Alert, target: Target[WebhookConfig], ctx: OutputContext) -> DeliveryResult:
    config, secret = target.config, target.secret  # the secret is optional for webhooks
    try:
        content = render_body(alert, config, ctx)
    except TemplateFailed as exc:
        return failed(str(exc), secrets=[secret] if secret else [])
    headers = build_headers(alert, target, ctx, content)
    # `${SECRET}` in the URL (a token in the path or query of a Discord, Teams or signed URL).
    url = config.url.replace(SECRET_PLACEHOLDER, quote(secret, safe="")) if secret else config.url
    response = exchange(
        config.method,
        url,
        ctx=ctx,
        headers=headers,
        content=content,
        timeout=config.timeout_seconds,
        timeout_name="config.timeout_seconds setting",
        secrets=[secret, quote(secret, safe="")] if secret else [],
    )
    if isinstance(response, DeliveryResult):
        return response
    return DeliveryResult(ok=True, status_code=response.status_code, message=f"webhook answered {response.status_code}")


OUTPUT = OutputSpec(SPEC, send, body, check_config)
