"""What the provider modules share: classifying HTTP failures, reading Retry-After, clearing keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mantissa_log.outputs.http import parse_retry_after
from mantissa_log.services.llm.types import FailureKind, ProviderFailure

DETAIL_CHARS = 300


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait: `retry-after-ms` (Anthropic, OpenAI) first, then `Retry-After` (seconds or a date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    return parse_retry_after(lowered.get("retry-after"))


def clean(text: str, secrets: Iterable[str]) -> str:
    """A provider's message, one line, without any secret value, shortened."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS] + "…"


def kind_of(status: int) -> FailureKind:
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "model"  # the chat endpoint exists: what it did not find is the model
    if status == 408:
        return "timeout"
    if status == 429:
        return "rate"
    if status >= 500:
        return "server"
    return "request"


def status_failure(
    status: int, headers: Mapping[str, str], detail: str, secrets: Iterable[str], kind: FailureKind | None = None
) -> ProviderFailure:
    return ProviderFailure(
        kind=kind or kind_of(status),
        detail=clean(detail, secrets),
        status=status,
        retry_after=retry_after(headers),
        headers={k.lower(): v for k, v in headers.items()},
    )
