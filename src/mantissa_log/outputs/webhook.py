"""Custom webhook: our JSON or the user's Jinja2 template, signed with the integration's secret.

Signature: `X-Mantissa-Signature: sha256=<hex>` is HMAC-SHA256 over the exact body bytes, keyed
with the integration's stored secret (the same value `${SECRET}` stands for in headers).
Receivers recompute it over the raw body with that secret and compare in constant time.
Without a stored secret no signature is sent (an unkeyed hash would prove nothing).

`X-Mantissa-Delivery` is an idempotency key: taken from `ctx.extra_headers` when the outbox sets
it, else `<alert_id>:<integration_id>`, stable across retries. `ctx.extra_headers` are sent too.

Templates run in Jinja2's immutable sandbox with StrictUndefined: a misspelt field fails the
delivery loudly (naming the template) instead of silently sending an empty value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.integrations.webhook import SECRET_PLACEHOLDER, SPEC, WebhookConfig
from mantissa_log.outputs.base import DeliveryResult, OutputContext, OutputSpec, PayloadError, Target
from mantissa_log.outputs.common import default_payload, failed, one_line
from mantissa_log.outputs.http import request

SIGNATURE_HEADER = "X-Mantissa-Signature"
TIMESTAMP_HEADER = "X-Mantissa-Timestamp"
DELIVERY_HEADER = "X-Mantissa-Delivery"
MAX_BODY_BYTES = 1 << 20
# Caps on what a template may compute: `'x' * 10**10` must not exhaust memory.
MAX_PRODUCT_LEN = 100_000
MAX_EXPONENT = 64


class TemplateFailed(PayloadError):
    pass


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_PRODUCT_LEN
                ):
                    raise SecurityError("repetition result too long")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(autoescape=False, undefined=jinja2.StrictUndefined)


def render_body(alert: Alert, config: WebhookConfig, ctx: OutputContext) -> bytes:
    """The exact body bytes. Raises TemplateFailed for a bad custom template."""
    data = default_payload(alert, ctx)
    if config.payload_template != "custom" or not config.template:
        return json.dumps(data, separators=(",", ":"), default=str).encode()
    try:
        rendered = _ENV.from_string(config.template).render(alert=data)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateFailed(f"webhook template has a syntax error on line {exc.lineno}: {exc.message}") from None
    except Exception as exc:  # anything the user's template raises is the template's fault
        raise TemplateFailed(f"webhook template failed to render: {type(exc).__name__}: {one_line(str(exc))}") from None
    body = rendered.encode()
    if len(body) > MAX_BODY_BYTES:
        raise TemplateFailed(f"webhook template rendered {len(body)} bytes, over the {MAX_BODY_BYTES}-byte limit")
    return body


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
    response = request(
        config.method,
        config.url,
        ctx=ctx,
        headers=headers,
        content=content,
        timeout=config.timeout_seconds,
        secrets=[secret] if secret else [],
    )
    if isinstance(response, DeliveryResult):
        return response
    return DeliveryResult(ok=True, status_code=response.status_code, message=f"webhook answered {response.status_code}")


OUTPUT = OutputSpec(SPEC, send, body)
