"""Gemini generateContent through the `google-genai` SDK (Gemini API keys; not Vertex AI)."""

from __future__ import annotations

from typing import Any

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from mantissa_log.services.llm.providers.common import clean, status_failure
from mantissa_log.services.llm.types import ChatReply, ChatRequest, ProviderFailure

# Gemini answers a wrong key with 400 INVALID_ARGUMENT, not 401.
_KEY_REFUSED = ("API_KEY_INVALID", "API key not valid", "API key expired")


class GoogleChat:
    name = "google"

    def __init__(
        self, api_key: str, *, base_url: str | None, timeout: float, http_client: httpx2.Client | None
    ) -> None:
        self.api_key = api_key
        # Our own httpx2 client in every case: one set of transport errors to catch, no proxy surprises.
        self.http_client = http_client or httpx2.Client(timeout=timeout, trust_env=False)
        options = types.HttpOptions(
            base_url=base_url,
            timeout=int(timeout * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),  # the gateway retries
            httpx_client=self.http_client,
        )
        # vertexai=False and an explicit key: the SDK would otherwise read GOOGLE_* variables.
        self.client = genai.Client(api_key=api_key, vertexai=False, http_options=options)

    def complete(self, request: ChatRequest) -> ChatReply:
        contents = [
            types.Content(role="model" if m.role == "assistant" else "user", parts=[types.Part(text=m.text)])
            for m in request.messages
        ]
        config = types.GenerateContentConfig(
            system_instruction=request.system,
            max_output_tokens=request.max_tokens,
            temperature=request.temperature,
        )
        try:
            response = self.client.models.generate_content(model=request.model, contents=contents, config=config)
        except genai_errors.APIError as exc:
            headers: Any = getattr(exc.response, "headers", None) or {}
            detail = f"{exc.status or ''} {exc.message or ''}".strip()
            refused_key = exc.code == 400 and any(mark in str(exc.details) for mark in _KEY_REFUSED)
            raise status_failure(
                int(exc.code or 500), dict(headers), detail, [self.api_key], kind="auth" if refused_key else None
            ) from None
        except httpx2.TimeoutException:
            raise ProviderFailure("timeout") from None
        except httpx2.TransportError as exc:
            raise ProviderFailure("network", type(exc).__name__) from None
        except (genai_errors.UnknownApiResponseError, ValueError) as exc:
            raise ProviderFailure("answer", clean(str(exc), [self.api_key])) from None
        usage = response.usage_metadata
        tokens_in = int(usage.prompt_token_count or 0) if usage else 0
        tokens_out = int(usage.candidates_token_count or 0) if usage else 0
        return ChatReply(response.text or "", tokens_in, tokens_out, response.model_version or request.model)

    def close(self) -> None:
        self.client.close()
        self.http_client.close()
