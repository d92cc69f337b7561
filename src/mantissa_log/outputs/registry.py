"""The one registry of outputs, and the opening every delivery shares.

Each integration type is described once: the domain spec (`domain/integrations/<type>.py`:
config model, secret, severity filter, attempt budget) and, in `outputs/<type>.py`, an
`OutputSpec` adding its sender and payload builder. `OutputRegistry.register` refuses an
output for an unknown type, a second output for a type, or one built on another spec than
the domain's; `build_output_registry` registers the built-ins and refuses to return a registry
missing a type. Built per container (and per test), never a module-level global.

`deliver` is the common opening of every send, done here once: the integration must be of the
output's type, the integration's own severity filter may skip the alert, the stored secret is
read (failing cleanly when missing), the sender runs, and whatever it reports is scrubbed of
the secret. A crashing sender is a retryable failure, not a crashed worker.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

from mantissa_log.domain.alerts import Alert
from mantissa_log.domain.integrations import INTEGRATION_SPECS, Integration, IntegrationSpec, index_specs
from mantissa_log.errors import ConfigError
from mantissa_log.outputs import email, jira, pagerduty, slack, webhook
from mantissa_log.outputs.base import DeliveryResult, OutputContext, OutputSpec, Target
from mantissa_log.outputs.common import fetch_secret, scrub, url_secrets

log = logging.getLogger("mantissa_log.outputs")

BUILTIN_OUTPUTS: tuple[OutputSpec[Any], ...] = (
    slack.OUTPUT,
    jira.OUTPUT,
    pagerduty.OUTPUT,
    email.OUTPUT,
    webhook.OUTPUT,
)


def _secret_fragments(secret: str) -> list[str]:
    # A URL secret (Slack) can be echoed in pieces: a receiver may quote just its path or token.
    return url_secrets(secret) if "://" in secret else [secret]


def _read_secret(
    spec: IntegrationSpec[Any], integration: Integration, ctx: OutputContext
) -> str | DeliveryResult | None:
    if spec.secret_label is None:
        return None
    ref = spec.stored_ref(integration.secret_arn, integration.config)
    if ref is None and not spec.needs_secret(integration.config):
        return None  # an optional secret (webhook) that was never stored
    return fetch_secret(ctx, ref, spec.secret_label)


def _open_and_send(
    output: OutputSpec[Any], alert: Alert, integration: Integration, ctx: OutputContext
) -> DeliveryResult:
    spec = output.integration
    config = integration.config
    if integration.integration_type != spec.name or not isinstance(config, spec.config_model):
        return DeliveryResult(
            ok=False, message=f"integration type {integration.integration_type} sent to the {spec.name} output"
        )
    why = spec.severity_filter(alert.severity, config)
    if why is not None:
        return DeliveryResult(ok=True, skipped=True, message=f"skipped: severity {alert.severity} is {why}")
    secret = _read_secret(spec, integration, ctx)
    if isinstance(secret, DeliveryResult):
        return secret
    result = output.send(alert, Target(integration, config, secret), ctx)
    if secret and not result.ok:
        # Senders scrub their own failure messages; this catches any they missed.
        result = dataclasses.replace(result, message=scrub(result.message, _secret_fragments(secret)))
    return result


def deliver(output: OutputSpec[Any], alert: Alert, integration: Integration, ctx: OutputContext) -> DeliveryResult:
    """One attempt through `output`, with the opening every output shares.

    A retryable failure is tried again at once, up to the type's `immediate_tries` (a webhook's
    `retry_count`), unless the receiver asked for a pause (Retry-After): that waits for the backoff.
    """
    tries = max(output.integration.immediate_tries(integration.config), 1)
    result = _try(output, alert, integration, ctx)
    for _ in range(tries - 1):
        if result.ok or not result.retryable or result.retry_after:
            break
        result = _try(output, alert, integration, ctx)
    return result


def _try(output: OutputSpec[Any], alert: Alert, integration: Integration, ctx: OutputContext) -> DeliveryResult:
    try:
        return _open_and_send(output, alert, integration, ctx)
    except Exception as exc:
        log.exception("output %s crashed", output.name)
        # The message names only the exception type: its text might quote a secret.
        return DeliveryResult(ok=False, retryable=True, message=f"output error: {type(exc).__name__}")


class OutputRegistry:
    def __init__(self, integration_specs: Iterable[IntegrationSpec[Any]] = INTEGRATION_SPECS) -> None:
        self._specs = index_specs(integration_specs)
        self._outputs: dict[str, OutputSpec[Any]] = {}

    def register(self, output: OutputSpec[Any]) -> None:
        name = output.name
        known = self._specs.get(name)
        if known is None:
            raise ConfigError(f"output for unknown integration type {name!r}", field="integration_type")
        if output.integration is not known:
            raise ConfigError(f"the {name} output is not built on the domain's {name} spec", field="integration_type")
        if name in self._outputs:
            raise ConfigError(f"integration type {name!r} already has an output", field="integration_type")
        self._outputs[name] = output

    def check_complete(self) -> None:
        missing = [name for name in self._specs if name not in self._outputs]
        if missing:
            raise ConfigError(f"no output for integration type(s) {', '.join(missing)}", field="integration_type")

    def names(self) -> tuple[str, ...]:
        return tuple(self._outputs)

    def output(self, integration_type: str) -> OutputSpec[Any]:
        found = self._outputs.get(integration_type)
        if found is None:
            raise ConfigError(f"no output for integration type {integration_type!r}", field="integration_type")
        return found

    # -- what the router, the outbox and the test action ask -----------------------------------
    def send(self, alert: Alert, integration: Integration, ctx: OutputContext) -> DeliveryResult:
        return deliver(self.output(integration.integration_type), alert, integration, ctx)

    def passes_filter(self, alert: Alert, integration: Integration) -> bool:
        """The integration's own severity settings let this alert through."""
        spec = self.output(integration.integration_type).integration
        return spec.severity_filter(alert.severity, integration.config) is None

    def check_config(self, integration: Integration, ctx: OutputContext) -> None:
        """What the type's output checks at save time; raises ValidationFailed naming the field."""
        self.output(integration.integration_type).check_config(integration.config, ctx)

    def build_payload(
        self, alert: Alert, integration: Integration, ctx: OutputContext, *, secret: str | None = None
    ) -> bytes:
        """The body the integration's sender would send. `secret` is given only by callers that
        may see it (a PagerDuty body carries the routing key); nothing is read from the store."""
        output = self.output(integration.integration_type)
        return output.build_payload(alert, Target(integration, integration.config, secret), ctx)


def build_output_registry() -> OutputRegistry:
    """The built-in outputs, one per integration type (checked before anything is sent)."""
    registry = OutputRegistry()
    for output in BUILTIN_OUTPUTS:
        registry.register(output)
    registry.check_complete()
    return registry
