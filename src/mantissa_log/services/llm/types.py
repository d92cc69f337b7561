"""What every LLM provider takes and gives: one chat request, one text reply with its token counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["user", "assistant"]
FailureKind = Literal["auth", "model", "rate", "server", "timeout", "network", "request", "answer"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    text: str


@dataclass(frozen=True)
class ChatRequest:
    model: str
    system: str
    messages: tuple[ChatMessage, ...]
    max_tokens: int
    temperature: float


@dataclass(frozen=True)
class ChatReply:
    text: str
    input_tokens: int
    output_tokens: int
    model: str  # as the provider names it in its answer (or as asked, when it does not say)


@dataclass
class ProviderFailure(Exception):
    """A provider call that failed, classified; it never leaves `services.llm` (the gateway maps it).

    kind: auth (key refused: 401/403), model (unknown model), rate (429), server (5xx), timeout,
    network (no connection), request (any other refusal, e.g. 400 for a parameter), answer (a reply
    that cannot be read).
    `detail` is the provider's own message, already cleared of the key.
    """

    kind: FailureKind
    detail: str = ""
    status: int | None = None
    retry_after: float | None = None  # seconds, from Retry-After / retry-after-ms
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind} ({self.status}): {self.detail}"


class ChatProvider(Protocol):
    name: str

    def complete(self, request: ChatRequest) -> ChatReply:
        """One request, no retries (the gateway retries); raises ProviderFailure."""
        ...

    def close(self) -> None:
        """Release the SDK client's connections."""
        ...
