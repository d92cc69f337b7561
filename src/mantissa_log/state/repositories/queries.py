"""Query history (conversations per user), cached answers, and LLM token usage."""

from __future__ import annotations

from typing import Any

from mantissa_log.domain.queries import Conversation, LlmUsageRow
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import Compare, NotExists
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import LLM_USAGE, QUERY_CACHE, QUERY_CONVERSATIONS

USAGE_DAYS_KEPT = 400


class ConversationRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def get(self, user_id: str, conversation_id: str) -> Conversation | None:
        item = self.backend.get(QUERY_CONVERSATIONS, {"user_id": user_id, "conversation_id": conversation_id})
        return None if item is None else Conversation.model_validate(item)

    def save(self, conversation: Conversation, *, previous_turns: int | None) -> None:
        """Create (`previous_turns` None) or replace the item if it still has `previous_turns` turns:
        of two follow-ups racing on one conversation, the second learns it lost (Conflict)."""
        condition = (
            NotExists("conversation_id") if previous_turns is None else Compare("turn_count", "=", previous_turns)
        )
        try:
            self.backend.put(QUERY_CONVERSATIONS, conversation.dump(), condition=condition)
        except Conflict:
            raise Conflict(
                "the conversation changed meanwhile (another question was asked in it); ask again",
                field="conversation_id",
            ) from None

    def list(self, user_id: str, *, limit: int, start_key: Key | None) -> ModelPage[Conversation]:
        """Newest first (ids begin with the time they were started)."""
        page = self.backend.query(QUERY_CONVERSATIONS, user_id, limit=limit, start_key=start_key, descending=True)
        return ModelPage([Conversation.model_validate(i) for i in page.items], page.next_key)

    def delete(self, user_id: str, conversation_id: str) -> bool:
        return self.backend.delete(QUERY_CONVERSATIONS, {"user_id": user_id, "conversation_id": conversation_id})


class QueryCacheRepository:
    """Answers (SQL and explanation) by a digest of everything they depend on; expire by TTL."""

    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def get(self, cache_key: str) -> dict[str, Any] | None:
        return self.backend.get(QUERY_CACHE, {"cache_key": cache_key})

    def put(self, cache_key: str, user_id: str, answer: dict[str, Any], ttl: int) -> None:
        self.backend.put(QUERY_CACHE, {"cache_key": cache_key, "user_id": user_id, **answer, "ttl": ttl})


class LlmUsageRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def add(
        self,
        user_id: str,
        day: str,
        provider: str,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        failed: bool,
        expires: int,
    ) -> None:
        """One model call: an atomic ADD, so concurrent requests never lose a count."""
        self.backend.update(
            LLM_USAGE,
            {"user_id": user_id, "usage_key": f"{day}#{provider}#{model}"},
            set_values={"day": day, "provider": provider, "model": model, "ttl": expires},
            add_values={
                "requests": 1,
                "failures": 1 if failed else 0,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
            },
        )

    def since(self, user_id: str, first_day: str) -> list[LlmUsageRow]:
        items = self.backend.query_all(LLM_USAGE, user_id, range_from=first_day)
        return [LlmUsageRow.model_validate(item) for item in items]
