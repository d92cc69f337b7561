"""OpenAI Chat Completions through the `openai` SDK: OpenAI itself, or any compatible server
(Ollama, vLLM, llama.cpp, LiteLLM, ...) at `llm_base_url`."""

from __future__ import annotations

from typing import Any

import httpx2
import openai

from mantissa_log.services.llm.providers.common import clean, status_failure
from mantissa_log.services.llm.types import ChatReply, ChatRequest, ProviderFailure

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers mostly take no key; the SDK insists on one, and sends it as a bearer token.
NO_KEY = "no-key"


class OpenAiChat:
    name = "openai"

    def __init__(
        self, api_key: str | None, *, base_url: str | None, timeout: float, http_client: httpx2.Client | None
    ) -> None:
        self.api_key = api_key or ""
        self.compatible = base_url is not None
        # Everything explicit: the SDK would otherwise read OPENAI_* variables of this server's environment.
        self.client = openai.OpenAI(
            api_key=api_key or NO_KEY,
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=timeout,
            max_retries=0,  # the gateway retries, the same way for every provider
            http_client=http_client,
        )

    def complete(self, request: ChatRequest) -> ChatReply:
        messages: list[Any] = [{"role": "system", "content": request.system}]
        messages += [{"role": m.role, "content": m.text} for m in request.messages]
        # OpenAI's newer models take only `max_completion_tokens`; compatible servers know `max_tokens`.
        try:
            completion = self.client.chat.completions.create(
                model=request.model,
                messages=messages,
                temperature=request.temperature,
                max_tokens=request.max_tokens if self.compatible else openai.omit,
                max_completion_tokens=openai.omit if self.compatible else request.max_tokens,
            )
        except openai.APITimeoutError:
            raise ProviderFailure("timeout") from None
        except openai.APIConnectionError as exc:
            raise ProviderFailure("network", clean(type(exc.__cause__ or exc).__name__, [self.api_key])) from None
        except openai.APIStatusError as exc:
            raise status_failure(exc.status_code, exc.response.headers, exc.message, [self.api_key]) from None
        except openai.OpenAIError as exc:
            raise ProviderFailure("answer", clean(str(exc), [self.api_key])) from None
        if not completion.choices:
            raise ProviderFailure("answer", "the answer holds no choices")
        text = completion.choices[0].message.content or ""
        usage = completion.usage
        tokens_in = int(usage.prompt_tokens or 0) if usage else 0
        tokens_out = int(usage.completion_tokens or 0) if usage else 0
        return ChatReply(text, tokens_in, tokens_out, completion.model or request.model)

    def close(self) -> None:
        self.client.close()
