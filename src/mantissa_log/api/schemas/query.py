"""Questions in plain English, SQL runs, conversations, LLM usage and rule drafts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mantissa_log.api.schemas.rules import TestResults
from mantissa_log.clock import from_epoch, iso
from mantissa_log.domain.common import StrictModel
from mantissa_log.domain.queries import MAX_QUESTION_CHARS, Conversation, QueryTurn
from mantissa_log.services.detection.draft import MAX_DESCRIPTION_CHARS, RuleDraft
from mantissa_log.services.llm.gateway import UsageReport
from mantissa_log.services.query.service import QueryAnswer

MAX_SQL_CHARS = 20_000


class QuestionBody(StrictModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    conversation_id: str | None = Field(default=None, max_length=64, description="continue this conversation")


class SqlBody(StrictModel):
    sql: str = Field(min_length=1, max_length=MAX_SQL_CHARS)
    conversation_id: str | None = Field(default=None, max_length=64, description="record the run in this conversation")


class DraftBody(StrictModel):
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS)


class Column(BaseModel):
    name: str
    type: str


class TokenUsage(BaseModel):
    input_tokens: int
    output_tokens: int


class QueryAnswerPublic(BaseModel):
    conversation_id: str | None
    sql: str = Field(description="the query that ran (as the guard read it), without the enforced row limit")
    explanation: str | None
    columns: list[Column]
    rows: list[list[Any]]
    row_count: int
    truncated: bool = Field(description="more rows than row_limit (or than the size limit) existed")
    row_limit: int
    data_scanned_bytes: int = Field(description="size of the Parquet files of the tables the query reads")
    duration_ms: float
    provider: str | None
    model: str | None
    usage: TokenUsage
    cached: bool = Field(description="the SQL came from an identical earlier question over the same data")
    attempts: int = Field(description="model calls made (2 when the first query was refused or failed)")

    @classmethod
    def of(cls, answer: QueryAnswer) -> QueryAnswerPublic:
        return cls(
            conversation_id=answer.conversation_id,
            sql=answer.sql,
            explanation=answer.explanation,
            columns=[Column(name=c.name, type=c.type) for c in answer.columns],
            rows=answer.rows,
            row_count=answer.row_count,
            truncated=answer.truncated,
            row_limit=answer.row_limit,
            data_scanned_bytes=answer.data_scanned_bytes,
            duration_ms=answer.duration_ms,
            provider=answer.provider,
            model=answer.model,
            usage=TokenUsage(input_tokens=answer.input_tokens, output_tokens=answer.output_tokens),
            cached=answer.cached,
            attempts=answer.attempts,
        )


class ConversationSummary(BaseModel):
    conversation_id: str
    title: str
    created_at: str
    updated_at: str
    turn_count: int
    expires_at: str

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationSummary:
        return cls(
            conversation_id=conversation.conversation_id,
            title=conversation.title,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            turn_count=len(conversation.turns),
            expires_at=iso(from_epoch(conversation.ttl)),
        )


class ConversationPublic(ConversationSummary):
    turns: list[QueryTurn]

    @classmethod
    def of_full(cls, conversation: Conversation) -> ConversationPublic:
        return cls(**ConversationSummary.of(conversation).model_dump(), turns=conversation.turns)


class UsageRowPublic(BaseModel):
    day: str
    provider: str
    model: str
    requests: int
    failures: int
    input_tokens: int
    output_tokens: int


class LlmUsagePublic(BaseModel):
    days: int
    requests: int
    failures: int
    input_tokens: int
    output_tokens: int
    items: list[UsageRowPublic] = Field(description="per day, provider and model, oldest first")

    @classmethod
    def of(cls, report: UsageReport) -> LlmUsagePublic:
        return cls(
            days=report.days,
            requests=report.requests,
            failures=report.failures,
            input_tokens=report.input_tokens,
            output_tokens=report.output_tokens,
            items=[
                UsageRowPublic.model_validate(row.model_dump(exclude={"user_id", "usage_key", "ttl"}))
                for row in report.rows
            ],
        )


class DraftIssuePublic(BaseModel):
    level: str
    message: str
    line: int | None = None
    check: str | None = None


class DraftEvaluation(BaseModel):
    """The draft run over the caller's default time range (ingest time); no alert is created."""

    window_start: str | None
    window_end: str | None
    match_count: int | None
    groups: int
    samples: list[dict[str, Any]]
    data_scanned_mb: float
    error: str | None = None


class RuleDraftPublic(BaseModel):
    body: str | None = Field(description="the rule as YAML, with its generated tests; not saved")
    explanation: str
    valid: bool
    issues: list[DraftIssuePublic]
    tests: TestResults
    title: str | None
    source: str | None
    severity: str | None
    evaluation: DraftEvaluation | None
    provider: str | None
    model: str | None
    usage: TokenUsage
    attempts: int

    @classmethod
    def of(cls, draft: RuleDraft) -> RuleDraftPublic:
        evaluated = draft.window_start is not None
        return cls(
            body=draft.body,
            explanation=draft.explanation,
            valid=draft.valid,
            issues=[
                DraftIssuePublic(level=i.level, message=i.message, line=i.line, check=i.check) for i in draft.issues
            ],
            tests=TestResults.of(draft.tests),
            title=draft.title,
            source=draft.source,
            severity=draft.severity,
            evaluation=DraftEvaluation(
                window_start=draft.window_start,
                window_end=draft.window_end,
                match_count=draft.match_count,
                groups=draft.groups,
                samples=draft.samples,
                data_scanned_mb=draft.data_scanned_mb,
                error=draft.evaluation_error,
            )
            if evaluated
            else None,
            provider=draft.provider,
            model=draft.model,
            usage=TokenUsage(input_tokens=draft.input_tokens, output_tokens=draft.output_tokens),
            attempts=draft.attempts,
        )
