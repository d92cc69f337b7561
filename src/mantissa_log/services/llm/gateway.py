"""A user's LLM: chosen from their settings, keyed from the secret store, called with retries, metered.

- Provider and model: `llm_provider`; `preferences.query_model` answers questions and
  `preferences.detection_model` drafts rules, each falling back to `llm_model`; `max_tokens` and
  `temperature` are passed through. `llm_base_url` points any provider at another endpoint (an
  OpenAI-compatible server, a gateway): it passes the outbound guard at every use.
- The key: read by `api_key_secret_id`, which must be a reference issued to this very user.
- Retries: 429 and 5xx (and refused connections) up to MANTISSA_LLM_MAX_ATTEMPTS, waiting what
  Retry-After / retry-after-ms asks (never longer than MANTISSA_LLM_MAX_RETRY_WAIT_SECONDS: a
  longer wait fails at once, saying when to try again), else 0.5 s, 1 s, 2 s... A timeout is not
  retried: the caller already waited MANTISSA_LLM_TIMEOUT_SECONDS.
- Every call, answered or not, is added to the user's usage (tokens, requests, failures).
- Errors name the setting to fix: 424 for the user's configuration, 502 for the provider.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from mantissa_log.clock import Clock
from mantissa_log.domain.queries import LlmUsageRow
from mantissa_log.domain.settings import UserSettings
from mantissa_log.errors import DependencyFailed, MantissaError, NotFound, UpstreamFailed
from mantissa_log.secrets.base import SecretStore
from mantissa_log.services.identity import Principal
from mantissa_log.services.llm.transport import check_endpoint, pinned_client
from mantissa_log.services.llm.types import ChatMessage, ChatProvider, ChatReply, ChatRequest, ProviderFailure
from mantissa_log.state.repositories.queries import USAGE_DAYS_KEPT, LlmUsageRepository
from mantissa_log.state.repositories.settings import UserSettingsRepository

Purpose = Literal["query", "detection"]
_BACKOFF_BASE = 0.5


@dataclass(frozen=True)
class LlmConfig:
    timeout_seconds: float = 60.0
    max_attempts: int = 3
    max_retry_wait_seconds: float = 30.0
    allow_private_targets: bool = False
    aws_region: str = "us-east-1"


@dataclass(frozen=True)
class ResolvedLlm:
    """What one user's settings say for one purpose (no key: it is read at each call)."""

    provider: str
    model: str
    model_field: str  # the setting the model came from, for error messages
    base_url: str | None
    max_tokens: int
    temperature: float
    default_time_range: str
    key_ref: str | None


@dataclass(frozen=True)
class ChatResult:
    text: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    attempts: int


@dataclass
class UsageReport:
    days: int
    rows: list[LlmUsageRow] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(r.requests for r in self.rows)

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.rows)

    @property
    def input_tokens(self) -> int:
        return sum(r.input_tokens for r in self.rows)

    @property
    def output_tokens(self) -> int:
        return sum(r.output_tokens for r in self.rows)


class LlmService:
    def __init__(
        self,
        settings: UserSettingsRepository,
        secrets: SecretStore,
        usage: LlmUsageRepository,
        clock: Clock,
        config: LlmConfig,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.usage_repo = usage
        self.clock = clock
        self.config = config
        self.sleep = sleep

    # ---- settings

    def resolve(self, who: Principal, purpose: Purpose) -> ResolvedLlm:
        """The provider and model this user set for `purpose`; 424 naming the setting when unset."""
        stored = self.settings.get_settings(who.user_id)
        if stored is None or stored.llm_provider is None:
            raise DependencyFailed(
                "no LLM is configured: set llm_provider (anthropic, openai, google or bedrock) and llm_model "
                "in your settings",
                code="llm_not_configured",
                field="llm_provider",
            )
        model, model_field = self._model(stored, purpose)
        return ResolvedLlm(
            provider=stored.llm_provider,
            model=model,
            model_field=model_field,
            base_url=stored.llm_base_url,
            max_tokens=stored.preferences.max_tokens,
            temperature=stored.preferences.temperature,
            default_time_range=stored.ui_preferences.default_time_range,
            key_ref=stored.api_key_secret_id,
        )

    @staticmethod
    def _model(stored: UserSettings, purpose: Purpose) -> tuple[str, str]:
        own_field = "preferences.query_model" if purpose == "query" else "preferences.detection_model"
        own = stored.preferences.query_model if purpose == "query" else stored.preferences.detection_model
        if own:
            return own, own_field
        if stored.llm_model:
            return stored.llm_model, "llm_model"
        raise DependencyFailed(
            f"no model is configured: set llm_model (or {own_field}) in your settings",
            code="llm_not_configured",
            field="llm_model",
        )

    def _key(self, who: Principal, llm: ResolvedLlm) -> str | None:
        if llm.key_ref is None:
            if llm.provider == "openai" and llm.base_url:
                return None  # a local OpenAI-compatible server usually takes no key
            raise DependencyFailed(
                f"no API key is stored for {llm.provider}: set api_key in your settings",
                code="llm_key_missing",
                field="api_key",
            )
        if self.secrets.owner_of(llm.key_ref) != who.user_id:
            # Only the settings service writes this reference; one naming another user's secret was
            # copied in by other means, and is never read on this user's behalf.
            raise DependencyFailed(
                "the stored api_key_secret_id is not a key of yours: set api_key again in your settings",
                code="llm_key_not_yours",
                field="api_key_secret_id",
            )
        try:
            return self.secrets.get(llm.key_ref)
        except NotFound:
            raise DependencyFailed(
                "the API key is no longer in the secret store: set api_key again in your settings",
                code="llm_key_missing",
                field="api_key",
            ) from None

    # ---- calls

    def chat(self, who: Principal, llm: ResolvedLlm, system: str, messages: Sequence[ChatMessage]) -> ChatResult:
        """One answer from the user's model, with retries; usage recorded either way."""
        key = self._key(who, llm)
        request = ChatRequest(llm.model, system, tuple(messages), llm.max_tokens, llm.temperature)
        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._call_once(llm, key, request)
            except ProviderFailure as failure:
                self._record(who, llm, None)
                wait = self._retry_wait(failure, attempt)
                if wait is None:
                    raise self._error(llm, failure, attempt) from None
                self.sleep(wait)
                continue
            self._record(who, llm, reply)
            return ChatResult(reply.text, llm.provider, reply.model, reply.input_tokens, reply.output_tokens, attempt)

    def _call_once(self, llm: ResolvedLlm, key: str | None, request: ChatRequest) -> ChatReply:
        timeout = self.config.timeout_seconds
        http_client = None
        if llm.base_url:
            target = check_endpoint(llm.base_url, allow_private=self.config.allow_private_targets)
            if llm.provider != "bedrock":  # botocore takes no pinned transport: checked, not pinned
                http_client = pinned_client(target, timeout)
        # The SDKs take seconds to import: each is loaded when a user of that provider first needs it,
        # not when the CLI or the server starts.
        provider: ChatProvider
        if llm.provider == "anthropic":
            from mantissa_log.services.llm.providers.anthropic_chat import AnthropicChat

            provider = AnthropicChat(key or "", base_url=llm.base_url, timeout=timeout, http_client=http_client)
        elif llm.provider == "openai":
            from mantissa_log.services.llm.providers.openai_chat import OpenAiChat

            provider = OpenAiChat(key, base_url=llm.base_url, timeout=timeout, http_client=http_client)
        elif llm.provider == "google":
            from mantissa_log.services.llm.providers.google_chat import GoogleChat

            provider = GoogleChat(key or "", base_url=llm.base_url, timeout=timeout, http_client=http_client)
        else:
            from mantissa_log.services.llm.providers.bedrock_chat import BedrockChat, parse_aws_key

            aws = parse_aws_key(key or "")
            provider = BedrockChat(aws, region=self.config.aws_region, endpoint_url=llm.base_url, timeout=timeout)
        try:
            return provider.complete(request)
        except ProviderFailure:
            raise
        except Exception as exc:  # a reply an SDK trips over (HTML, broken JSON): the provider's fault, never a 500
            raise ProviderFailure("answer", f"the reply could not be read ({type(exc).__name__})") from None
        finally:
            provider.close()
            if http_client is not None:
                http_client.close()

    def _retry_wait(self, failure: ProviderFailure, attempt: int) -> float | None:
        """Seconds to wait before the next attempt; None: do not retry."""
        if failure.kind not in ("rate", "server", "network") or attempt >= self.config.max_attempts:
            return None
        wait = failure.retry_after if failure.retry_after is not None else _BACKOFF_BASE * 2 ** (attempt - 1)
        return None if wait > self.config.max_retry_wait_seconds else wait

    def _error(self, llm: ResolvedLlm, failure: ProviderFailure, attempts: int) -> MantissaError:
        name = llm.provider if not llm.base_url else f"{llm.provider} at {llm.base_url}"
        status = f" (HTTP {failure.status})" if failure.status else ""
        detail = f": {failure.detail}" if failure.detail else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if failure.kind == "auth":
            return DependencyFailed(
                f"{name} refused the API key{status}{detail}; set a valid api_key in your settings",
                code="llm_key_rejected",
                field="api_key",
            )
        if failure.kind == "model":
            return DependencyFailed(
                f"{name} does not know the model '{llm.model}'{status}{detail}; check {llm.model_field}",
                code="llm_model_unknown",
                field=llm.model_field,
            )
        if failure.kind == "request":
            return DependencyFailed(
                f"{name} refused the request{status}{detail}; check llm_model, max_tokens and temperature",
                code="llm_request_refused",
                field=llm.model_field,
            )
        if failure.kind == "timeout":
            return UpstreamFailed(
                f"{name} did not answer within {self.config.timeout_seconds:g} s (MANTISSA_LLM_TIMEOUT_SECONDS)",
                code="llm_timeout",
                field="MANTISSA_LLM_TIMEOUT_SECONDS",
            )
        if failure.kind == "rate":
            later = f"; retry after {failure.retry_after:g} s" if failure.retry_after else ""
            return UpstreamFailed(f"{name} is rate limiting{status}{tries}{later}", code="llm_rate_limited")
        if failure.kind == "network":
            return UpstreamFailed(
                f"{name} could not be reached{tries}{detail}",
                code="llm_unreachable",
                field="llm_base_url" if llm.base_url else None,
            )
        if failure.kind == "answer":
            return UpstreamFailed(f"{name} gave an answer that cannot be read{detail}", code="llm_bad_answer")
        return UpstreamFailed(f"{name} failed{status}{tries}{detail}", code="llm_unavailable")

    def _record(self, who: Principal, llm: ResolvedLlm, reply: ChatReply | None) -> None:
        now = self.clock.now()
        self.usage_repo.add(
            who.user_id,
            now.strftime("%Y-%m-%d"),
            llm.provider,
            llm.model,
            input_tokens=reply.input_tokens if reply else 0,
            output_tokens=reply.output_tokens if reply else 0,
            failed=reply is None,
            expires=int((now + timedelta(days=USAGE_DAYS_KEPT)).timestamp()),
        )

    # ---- usage

    def usage(self, who: Principal, days: int = 30) -> UsageReport:
        """The user's calls of the last `days` days (today included), per day, provider and model."""
        first = (self.clock.now() - timedelta(days=days - 1)).strftime("%Y-%m-%d")
        return UsageReport(days, self.usage_repo.since(who.user_id, first))
