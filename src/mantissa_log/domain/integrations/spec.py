"""What the domain knows about one integration type, declared once next to its config model.

A spec says which config model the type uses, whether and when it needs a stored secret, how a
secret value is checked, which alerts its own severity settings let through and whether it sets
how often one attempt tries again at once. The outputs layer adds the sender (`outputs/registry.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from mantissa_log.domain.common import SEVERITY_RANK, IntegrationType, Severity, StrictModel
from mantissa_log.errors import ConfigError

C = TypeVar("C", bound=StrictModel)


def never(_config: object) -> bool:
    return False


def always(_config: object) -> bool:
    return True


def wants_every_severity(_severity: Severity, _config: object) -> str | None:
    return None


def no_check(_value: str) -> None:
    return None


def one_try(_config: object) -> int:
    return 1


def listed(severity: Severity, allowed: Sequence[Severity]) -> str | None:
    """`severity_filter` semantics: only the severities named."""
    return None if severity in allowed else "not in severity_filter"


def at_least(severity: Severity, threshold: Severity) -> str | None:
    """`severity_threshold` semantics: this severity or a more severe one."""
    return None if SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold] else f"below severity_threshold {threshold}"


@dataclass(frozen=True, kw_only=True)
class IntegrationSpec(Generic[C]):
    name: IntegrationType
    config_model: type[C]
    # How messages name the stored secret ("Slack webhook URL"); None: the type keeps no secret.
    secret_label: str | None = None
    # The config field that mirrors `secret_arn` (the seed's configs name the reference there).
    secret_ref_field: str | None = None
    # Whether this config cannot deliver without a stored secret.
    needs_secret: Callable[[C], bool] = never
    # Raises ValidationFailed(field="secret") for a value that cannot be this type's secret.
    check_secret: Callable[[str], None] = no_check
    # Why an alert of this severity is not wanted by the integration (None: it is wanted).
    severity_filter: Callable[[Severity, C], str | None] = wants_every_severity
    # Tries in a row within one delivery attempt before it waits for its backoff (webhook
    # `retry_count` + 1); the outbox then retries with backoff until the delivery's age limit.
    immediate_tries: Callable[[C], int] = one_try

    def __post_init__(self) -> None:
        # A typo here would silently leave a secret reference unmanaged: refuse it at import.
        if self.secret_ref_field is not None:
            if self.secret_ref_field not in self.config_model.model_fields:
                raise ConfigError(
                    f"{self.secret_ref_field} is not a field of {self.config_model.__name__}", field=self.name
                )
            if self.secret_label is None:
                raise ConfigError("a secret reference field needs a secret_label", field=self.name)

    def stored_ref(self, secret_arn: str | None, config: C) -> str | None:
        """The secret's reference: the integration's own, else the one its config mirrors."""
        if secret_arn or self.secret_ref_field is None:
            return secret_arn
        mirrored = getattr(config, self.secret_ref_field)
        return mirrored if isinstance(mirrored, str) else None
