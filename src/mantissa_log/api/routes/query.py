"""Questions in plain English over the logs, SQL the user edits, conversations, LLM usage, rule drafts.

Everything here runs on the caller's own LLM settings and key (docs/LLM.md). The audit record of
each request (made by the middleware) carries the conversation, the outcome and the SQL that ran.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from mantissa_log.api.audit import note_detail
from mantissa_log.api.deps import CurrentUser, Cursor, Limit, ServicesDep, decode_cursor, encode_cursor
from mantissa_log.api.schemas.common import Page
from mantissa_log.api.schemas.query import (
    ConversationPublic,
    ConversationSummary,
    DraftBody,
    LlmUsagePublic,
    QueryAnswerPublic,
    QuestionBody,
    RuleDraftPublic,
    SqlBody,
)
from mantissa_log.errors import MantissaError
from mantissa_log.services.query.audit import answer_detail, failure_detail

router = APIRouter(prefix="/api/v1", tags=["query"])


@router.post("/query", name="query.ask")
async def ask(request: Request, body: QuestionBody, user: CurrentUser, services: ServicesDep) -> QueryAnswerPublic:
    """Ask the logs a question in plain English: the answer carries the SQL that ran, its explanation and rows.

    A query the guard refuses (twice: the model gets one second chance) is 422 `query_refused`, with the
    refused `sql` and the `conversation_id`; LLM settings that cannot be used are 424, provider failures 502.
    """
    try:
        answer = await run_in_threadpool(services.query.ask, user, body.question, body.conversation_id)
    except MantissaError as exc:
        note_detail(request, **failure_detail(exc))
        raise
    note_detail(request, **answer_detail(answer))
    return QueryAnswerPublic.of(answer)


@router.post("/query/sql", name="query.sql")
async def run_sql(request: Request, body: SqlBody, user: CurrentUser, services: ServicesDep) -> QueryAnswerPublic:
    """Run SQL the user wrote or edited, through the same guard and limits (no model involved)."""
    try:
        answer = await run_in_threadpool(services.query.run_sql, user, body.sql, body.conversation_id)
    except MantissaError as exc:
        note_detail(request, **failure_detail(exc))
        raise
    note_detail(request, **answer_detail(answer))
    return QueryAnswerPublic.of(answer)


@router.get("/query/conversations", name="query.conversation.list")
def list_conversations(
    user: CurrentUser, services: ServicesDep, limit: Limit = 25, cursor: Cursor = None
) -> Page[ConversationSummary]:
    """The caller's conversations, newest first (kept MANTISSA_QUERY_HISTORY_DAYS after their last turn)."""
    page = services.query.conversations_of(user, limit=limit, start_key=decode_cursor(cursor, user.user_id))
    return Page[ConversationSummary](
        items=[ConversationSummary.of(c) for c in page.items], next=encode_cursor(page.next_key)
    )


@router.get("/query/conversations/{conversation_id}", name="query.conversation.read")
def get_conversation(conversation_id: str, user: CurrentUser, services: ServicesDep) -> ConversationPublic:
    return ConversationPublic.of_full(services.query.conversation(user, conversation_id))


@router.delete("/query/conversations/{conversation_id}", status_code=204, name="query.conversation.delete")
def delete_conversation(conversation_id: str, user: CurrentUser, services: ServicesDep) -> Response:
    services.query.delete_conversation(user, conversation_id)
    return Response(status_code=204)


@router.get("/llm/usage", name="llm.usage")
def llm_usage(
    user: CurrentUser,
    services: ServicesDep,
    days: int = Query(default=30, ge=1, le=400, description="how many days back, today included"),
) -> LlmUsagePublic:
    """The caller's model calls and tokens, per day, provider and model."""
    return LlmUsagePublic.of(services.llm.usage(user, days))


@router.post("/rules/draft", name="rule.draft")
async def draft_rule(request: Request, body: DraftBody, user: CurrentUser, services: ServicesDep) -> RuleDraftPublic:
    """Draft a Sigma rule from a description with the caller's `detection_model`. Nothing is saved.

    The draft is validated (rule format, compilation, pySigma), its two generated tests are run, and a
    valid draft is evaluated over the caller's default time range (match count and samples, no alert).
    """
    draft = await run_in_threadpool(services.drafts.draft, user, body.description)
    note_detail(request, valid=str(draft.valid).lower(), attempts=str(draft.attempts))
    return RuleDraftPublic.of(draft)
