"""Questions in plain English over the lake, and SQL the user edits, through one guard.

ask: the user's `query_model` gets the lake's schema, the time, the user's default range and the
conversation so far, and answers with one ```sql block and an explanation. The SQL passes the guard
(`lake.query_guard`) in the dialect of the backend that runs it (`lake.query_backend`: DuckDB over
the local lake within limits, or Athena over the S3 lake with `MANTISSA_LAKE=s3`); a refused or
failing query goes back to the model once with the reason. Each turn is kept in the user's
conversation (TTL); an identical question in the same context over unchanged data takes the
cached SQL instead of asking the model (the SQL is run again: rows are never cached).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mantissa_log.clock import Clock, iso
from mantissa_log.domain.queries import (
    MAX_EXPLANATION_CHARS,
    MAX_QUESTION_CHARS,
    MAX_TURNS,
    Conversation,
    QueryTurn,
)
from mantissa_log.errors import NotFound, QueryRefused, UpstreamFailed, ValidationFailed
from mantissa_log.lake.query_backend import QueryBackend
from mantissa_log.lake.query_guard import CheckedQuery, QueryRejected, check_query
from mantissa_log.lake.query_run import QueryFailed, QueryLimits, QueryResult
from mantissa_log.lake.query_schema import TableSchema
from mantissa_log.lake.results import ColumnInfo
from mantissa_log.services.identity import Principal
from mantissa_log.services.llm.fenced import read_fenced
from mantissa_log.services.llm.gateway import ChatResult, LlmService, ResolvedLlm
from mantissa_log.services.llm.types import ChatMessage
from mantissa_log.services.query.prompt import PROMPT_VERSION, retry_message, system_prompt
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.repositories.queries import ConversationRepository, QueryCacheRepository

SQL_TAGS = ("sql", "duckdb")


@dataclass(frozen=True)
class QuerySettings:
    limits: QueryLimits = field(default_factory=QueryLimits)
    history_days: int = 30
    cache_seconds: int = 3600
    schema_examples: int = 3


@dataclass
class QueryAnswer:
    conversation_id: str | None
    sql: str
    explanation: str | None
    columns: list[ColumnInfo]
    rows: list[list[Any]]
    truncated: bool
    data_scanned_bytes: int
    duration_ms: float
    row_limit: int
    provider: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    attempts: int = 0

    @property
    def row_count(self) -> int:
        return len(self.rows)


@dataclass
class _Problem:
    code: str  # no_sql, query_refused, query_failed, query_timeout, query_memory
    reason: str
    sql: str | None


@dataclass
class _Ran:
    checked: CheckedQuery
    result: QueryResult


class QueryService:
    def __init__(
        self,
        llm: LlmService,
        queries: QueryBackend,
        conversations: ConversationRepository,
        cache: QueryCacheRepository,
        clock: Clock,
        settings: QuerySettings,
    ) -> None:
        self.llm = llm
        self.queries = queries
        self.conversations = conversations
        self.cache = cache
        self.clock = clock
        self.settings = settings
        self._schema: tuple[str, list[TableSchema]] | None = None
        self._schema_lock = threading.Lock()

    # ---- questions

    def ask(self, who: Principal, question: str, conversation_id: str | None = None) -> QueryAnswer:
        question = question.strip()
        if not question or len(question) > MAX_QUESTION_CHARS:
            raise ValidationFailed(f"a question is 1 to {MAX_QUESTION_CHARS} characters", field="question")
        conversation = self._open(who, conversation_id, question)
        llm = self.llm.resolve(who, "query")
        fingerprint, tables = self.schema()
        key = self._cache_key(who, llm, fingerprint, conversation, question)
        cached = self._from_cache(key) if self.settings.cache_seconds > 0 else None
        if cached is not None:
            return self._finish(who, conversation, question, cached[0], cached[1], None, llm, 0, cached=True)
        system = system_prompt(
            tables, self.clock.now(), llm.default_time_range, self.settings.limits.max_rows, self.queries.dialect
        )
        messages = [*self._history(conversation), ChatMessage("user", question)]
        used: list[ChatResult] = []
        outcome: _Ran | _Problem | None = None
        explanation = ""
        for _ in range(2):  # a refused or failing query goes back to the model once, with the reason
            reply = self.llm.chat(who, llm, system, messages)
            used.append(reply)
            outcome, explanation = self._try(reply.text)
            if isinstance(outcome, _Ran):
                break
            messages += [ChatMessage("assistant", reply.text), ChatMessage("user", retry_message(outcome.reason))]
        assert outcome is not None
        if isinstance(outcome, _Ran) and self.settings.cache_seconds > 0:
            self.cache.put(
                key,
                who.user_id,
                {"sql": outcome.checked.sql, "explanation": explanation},
                int(self.clock.now().timestamp()) + self.settings.cache_seconds,
            )
        return self._finish(who, conversation, question, outcome, explanation, used, llm, len(used))

    def run_sql(self, who: Principal, sql: str, conversation_id: str | None = None) -> QueryAnswer:
        """SQL the user wrote or edited: the same guard and limits; kept in the named conversation, or a new one."""
        conversation = self._open(who, conversation_id, " ".join(sql.split()))
        outcome = self._run(sql)
        self._save(conversation, self._turn("sql", None, outcome, None, None, []))
        if isinstance(outcome, _Problem):
            raise QueryRefused(outcome.reason, code=outcome.code, conversation_id=conversation.conversation_id)
        return self._answer(outcome, None, conversation, None, [], cached=False)

    # ---- history

    def conversations_of(self, who: Principal, *, limit: int, start_key: Key | None) -> ModelPage[Conversation]:
        return self.conversations.list(who.user_id, limit=limit, start_key=start_key)

    def conversation(self, who: Principal, conversation_id: str) -> Conversation:
        found = self.conversations.get(who.user_id, conversation_id)
        if found is None:
            raise NotFound(f"conversation {conversation_id} not found", field="conversation_id")
        return found

    def delete_conversation(self, who: Principal, conversation_id: str) -> None:
        if not self.conversations.delete(who.user_id, conversation_id):
            raise NotFound(f"conversation {conversation_id} not found", field="conversation_id")

    # ---- the lake's description (cached while the data is unchanged)

    def schema(self) -> tuple[str, list[TableSchema]]:
        fingerprint = self.queries.fingerprint()  # StoreError (503) when the S3 lake cannot be listed
        with self._schema_lock:
            if self._schema is None or self._schema[0] != fingerprint:
                self._schema = (fingerprint, self.queries.describe(self.settings.schema_examples))
            return self._schema

    # ---- pieces

    def _open(self, who: Principal, conversation_id: str | None, question: str | None) -> Conversation:
        if conversation_id:
            found = self.conversation(who, conversation_id)
            if len(found.turns) >= MAX_TURNS:
                raise ValidationFailed(
                    f"a conversation holds at most {MAX_TURNS} turns: start a new one", field="conversation_id"
                )
            return found
        now = self.clock.now()
        return Conversation(
            user_id=who.user_id,
            conversation_id=f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:12]}",
            title=(question or "SQL")[:200],
            created_at=iso(now),
            updated_at=iso(now),
            ttl=self._ttl(),
        )

    def _ttl(self) -> int:
        return int((self.clock.now() + timedelta(days=self.settings.history_days)).timestamp())

    @staticmethod
    def _history(conversation: Conversation) -> list[ChatMessage]:
        """The conversation so far as alternating user and assistant messages."""
        messages: list[ChatMessage] = []
        for turn in conversation.turns:
            if turn.kind == "question":
                messages.append(ChatMessage("user", turn.question or ""))
            else:
                messages.append(ChatMessage("user", "I ran this SQL myself."))
            said = f"```sql\n{turn.sql}\n```\n" if turn.sql else ""
            if turn.status == "answered":
                said += (turn.explanation or "") + f" (It returned {turn.row_count} rows.)"
            else:
                said += f"(This could not be used: {turn.error})"
            messages.append(ChatMessage("assistant", said.strip()))
        return messages

    def _cache_key(
        self, who: Principal, llm: ResolvedLlm, fingerprint: str, conversation: Conversation, question: str
    ) -> str:
        basis = [
            PROMPT_VERSION,
            self.queries.dialect,
            who.user_id,
            llm.provider,
            llm.model,
            llm.base_url,
            llm.max_tokens,
            llm.temperature,
            llm.default_time_range,
            self.settings.limits.max_rows,
            fingerprint,
            [(t.kind, t.question, t.sql, t.status) for t in conversation.turns],
            " ".join(question.split()),
        ]
        return hashlib.sha256(json.dumps(basis, separators=(",", ":")).encode()).hexdigest()

    def _from_cache(self, key: str) -> tuple[_Ran, str] | None:
        found = self.cache.get(key)
        if found is None or not isinstance(found.get("sql"), str):
            return None
        outcome = self._run(found["sql"])
        return (outcome, str(found.get("explanation") or "")) if isinstance(outcome, _Ran) else None

    def _try(self, text: str) -> tuple[_Ran | _Problem, str]:
        fenced = read_fenced(text, SQL_TAGS)
        explanation = fenced.prose[:MAX_EXPLANATION_CHARS]
        if fenced.code is None:
            reason = (
                "the answer was cut off before its ```sql block closed (max_tokens is too small)"
                if fenced.unterminated
                else "the answer held no ```sql block"
            )
            return _Problem("no_sql", reason, None), explanation
        return self._run(fenced.code), explanation

    def _run(self, sql: str) -> _Ran | _Problem:
        try:
            checked = check_query(sql, self.settings.limits.max_rows, self.queries.dialect)
        except QueryRejected as exc:
            # The text as written (it did not pass, so there is no checked form): shown, never run.
            return _Problem("query_refused", str(exc), sql)
        try:
            return _Ran(checked, self.queries.run(checked, self.settings.limits))
        except QueryFailed as exc:
            return _Problem(exc.code, exc.message, checked.sql)

    def _finish(
        self,
        who: Principal,
        conversation: Conversation,
        question: str,
        outcome: _Ran | _Problem,
        explanation: str,
        used: list[ChatResult] | None,
        llm: ResolvedLlm,
        attempts: int,
        *,
        cached: bool = False,
    ) -> QueryAnswer:
        turn = self._turn("question", question, outcome, explanation, llm, used or [], cached=cached)
        turn.attempts = attempts
        self._save(conversation, turn)
        if isinstance(outcome, _Problem):
            if outcome.code == "no_sql":
                raise UpstreamFailed(
                    f"the model answered twice without a ```sql block: {outcome.reason}", code="llm_no_sql"
                )
            raise QueryRefused(
                outcome.reason, code=outcome.code, sql=outcome.sql, conversation_id=conversation.conversation_id
            )
        return self._answer(outcome, explanation, conversation, llm, used or [], cached=cached)

    def _turn(
        self,
        kind: str,
        question: str | None,
        outcome: _Ran | _Problem,
        explanation: str | None,
        llm: ResolvedLlm | None,
        used: list[ChatResult],
        *,
        cached: bool = False,
    ) -> QueryTurn:
        ran = outcome if isinstance(outcome, _Ran) else None
        problem = outcome if isinstance(outcome, _Problem) else None
        sql = ran.checked.sql if ran else (problem.sql if problem else None)
        return QueryTurn.model_validate(
            {
                "kind": kind,
                "question": question,
                "sql": sql[:10_000] if sql else None,
                "explanation": explanation or None,
                "status": "answered"
                if ran
                else ("refused" if problem and problem.code == "query_refused" else "failed"),
                "error_code": problem.code if problem else None,
                "error": problem.reason[:500] if problem else None,
                "columns": [c.name for c in ran.result.columns] if ran else [],
                "row_count": len(ran.result.rows) if ran else 0,
                "truncated": ran.result.truncated if ran else False,
                "provider": llm.provider if llm else None,
                "model": used[-1].model if used else (llm.model if llm else None),
                "input_tokens": sum(r.input_tokens for r in used),
                "output_tokens": sum(r.output_tokens for r in used),
                "cached": cached,
                "asked_at": iso(self.clock.now()),
            }
        )

    def _save(self, conversation: Conversation, turn: QueryTurn) -> None:
        """Append a turn: a new conversation is created, a stored one replaced only if no turn was added meanwhile."""
        previous = len(conversation.turns) if conversation.turns else None
        conversation.turns = [*conversation.turns, turn]
        conversation.turn_count = len(conversation.turns)
        conversation.updated_at = iso(self.clock.now())
        conversation.ttl = self._ttl()
        self.conversations.save(conversation, previous_turns=previous)

    def _answer(
        self,
        ran: _Ran,
        explanation: str | None,
        conversation: Conversation | None,
        llm: ResolvedLlm | None,
        used: list[ChatResult],
        *,
        cached: bool,
    ) -> QueryAnswer:
        result = ran.result
        return QueryAnswer(
            conversation_id=conversation.conversation_id if conversation else None,
            sql=ran.checked.sql,
            explanation=explanation,
            columns=result.columns,
            rows=result.rows,
            truncated=result.truncated,
            data_scanned_bytes=result.data_scanned_bytes,
            duration_ms=result.duration_ms,
            row_limit=self.settings.limits.max_rows,
            provider=llm.provider if llm else None,
            model=used[-1].model if used else (llm.model if llm else None),
            input_tokens=sum(r.input_tokens for r in used),
            output_tokens=sum(r.output_tokens for r in used),
            cached=cached,
            attempts=len(used),
        )
