"""Questions in plain English: a user's conversations, their turns, and LLM token usage.

A conversation keeps what is needed to show it and to continue it: each turn's question (or the
SQL the user ran), the SQL that ran, the model's explanation and the outcome. Result rows are not
kept: they are the user's logs, and running the SQL again brings them back.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mantissa_log.domain.common import Name, StrictModel, Timestamp

TurnKind = Literal["question", "sql"]
TurnStatus = Literal["answered", "refused", "failed"]
MAX_QUESTION_CHARS = 4000
MAX_TURNS = 20  # a conversation item stays far below DynamoDB's 400 KB (SQL and explanations are capped)
MAX_STORED_SQL_CHARS = 10_000
MAX_EXPLANATION_CHARS = 2000


class QueryTurn(StrictModel):
    kind: TurnKind
    question: str | None = Field(default=None, max_length=MAX_QUESTION_CHARS)
    sql: str | None = Field(default=None, max_length=MAX_STORED_SQL_CHARS)
    explanation: str | None = Field(default=None, max_length=MAX_EXPLANATION_CHARS)
    status: TurnStatus
    error_code: str | None = None
    error: str | None = None
    columns: list[str] = Field(default_factory=list)
    row_count: int = 0
    truncated: bool = False
    provider: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    attempts: int = 0
    asked_at: Timestamp


class Conversation(StrictModel):
    user_id: Name
    conversation_id: str = Field(pattern=r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}$")
    title: str = Field(max_length=200)
    created_at: Timestamp
    updated_at: Timestamp
    turn_count: int = 0
    turns: list[QueryTurn] = Field(default_factory=list)
    ttl: int  # epoch seconds: history is kept MANTISSA_QUERY_HISTORY_DAYS after the last turn


class LlmUsageRow(StrictModel):
    """Tokens one user spent on one day with one provider and model (requests that failed count too)."""

    user_id: Name
    usage_key: str  # <day>#<provider>#<model>
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    provider: str
    model: str
    requests: int = 0
    failures: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    ttl: int | None = None
