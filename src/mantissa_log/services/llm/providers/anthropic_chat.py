"""Anthropic Messages API through the `anthropic` SDK."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2

from mantissa_log.services.llm.providers.common import clean, status_failure
from mantissa_log.services.llm.types import ChatReply, ChatRequest, ProviderFailure

DEFAULT_BASE_URL = "https://api.anthropic.com"


class AnthropicChat:
    name = "anthropic"

    def __init__(
        self, api_key: str, *, base_url: str | None, timeout: float, http_client: httpx2.Client | None
    ) -> None:
        self.api_key = api_key
        # Everything explicit: the SDK would otherwise read ANTHROPIC_* variables of this server's environment.
        self.client = anthropic.Anthropic(
            api_key=api_key,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=0,  # the gateway retries, the same way for every provider
            http_client=http_client,
        )

    def complete(self, request: ChatRequest) -> ChatReply:
        messages: list[Any] = [{"role": m.role, "content": m.text} for m in request.messages]
        try:
            # No temperature: Anthropic's API (version 2026-10-21, which this SDK speaks) refuses sampling
            # parameters, and the SDK no longer has them.
            message = self.client.messages.create(
                model=request.model, max_tokens=request.max_tokens, system=request.system, messages=messages
            )
        except anthropic.APITimeoutError:
            raise ProviderFailure("timeout") from None
        except anthropic.APIConnectionError as exc:
            raise ProviderFailure("network", clean(f"{type(exc.__cause__ or exc).__name__}", [self.api_key])) from None
        except anthropic.APIStatusError as exc:
            detail = exc.api_message or exc.message
            raise status_failure(exc.status_code, exc.response.headers, detail, [self.api_key]) from None
        except anthropic.AnthropicError as exc:  # a reply the SDK cannot read, and the like
            raise ProviderFailure("answer", clean(str(exc), [self.api_key])) from None
        text = "".join(getattr(block, "text", "") for block in message.content if block.type == "text")
        usage = message.usage
        return ChatReply(
            text, int(usage.input_tokens or 0), int(usage.output_tokens or 0), message.model or request.model
        )

    def close(self) -> None:
        self.client.close()
