"""Custom webhook configuration. `${SECRET}` in a header or in the URL is replaced by the stored secret."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from mantissa_log.domain.common import StrictModel
from mantissa_log.domain.integrations.spec import IntegrationSpec

SECRET_PLACEHOLDER = "${SECRET}"
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")]
HeaderValue = Annotated[str, StringConstraints(max_length=4096)]
# What a header value may hold: visible ASCII, spaces and tabs. Control characters (NUL, vertical
# tab, CR, LF), Unicode line separators and non-ASCII are refused here instead of failing each send.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
# Headers whose value is a credential: a literal value there is a plaintext secret.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "x-api-token",
        "api-key",
        "api-token",
        "x-access-token",
        "private-token",
        "x-functions-key",
        "ocp-apim-subscription-key",
        "x-goog-api-key",
        "x-amz-security-token",
    }
)
CREDENTIAL_PREFIXES = ("x-auth",)  # X-Auth-Token, X-Auth-Key, X-Auth-User, X-Authorization, ...


def is_credential_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in CREDENTIAL_HEADERS or lowered.startswith(CREDENTIAL_PREFIXES)


class WebhookConfig(StrictModel):
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/$.?#][^\s]*$", max_length=2048)]
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)
    # "default": our JSON payload; "custom": the Jinja2 template in `template`.
    payload_template: Literal["default", "custom"] = "default"
    template: Annotated[str, StringConstraints(max_length=65_536)] | None = None
    retry_count: int = Field(default=3, ge=0, le=10)
    timeout_seconds: float = Field(default=30, gt=0, le=120)

    @field_validator("headers")
    @classmethod
    def _printable_and_no_literal_credentials(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_VALUE.fullmatch(value):
                raise ValueError(
                    f"header {name}: values may hold only printable ASCII, spaces and tabs "
                    "(no control characters, line separators or non-ASCII text)"
                )
            if is_credential_header(name) and value.strip() and SECRET_PLACEHOLDER not in value:
                raise ValueError(
                    f"header {name} carries a credential: put the value in the write-only "
                    f"`secret` field and write {SECRET_PLACEHOLDER} in the header"
                )
        return headers

    @model_validator(mode="after")
    def _custom_needs_template(self) -> WebhookConfig:
        if self.payload_template == "custom" and not self.template:
            raise ValueError("payload_template 'custom' needs a Jinja2 `template`")
        return self

    def uses_secret(self) -> bool:
        return SECRET_PLACEHOLDER in self.url or any(SECRET_PLACEHOLDER in v for v in self.headers.values())


def _needs_secret(config: WebhookConfig) -> bool:
    return config.uses_secret()


def _immediate_tries(config: WebhookConfig) -> int:
    """The seed's `retry_count`: retries right after a failed try, within one delivery attempt."""
    return config.retry_count + 1


# The secret is optional: when stored, bodies are signed with it even if no header uses it.
SPEC = IntegrationSpec(
    name="webhook",
    config_model=WebhookConfig,
    secret_label="webhook secret",
    needs_secret=_needs_secret,
    immediate_tries=_immediate_tries,
)
