"""`/query`: ask the logs in plain English, follow up, edit and rerun the SQL, keep or drop conversations.

Everything goes through `services.query` (the API's path: the same guard, limits, cache and history).
Rows are never stored: an answer's rows are on the page that asked; an opened conversation shows
its turns and runs its last SQL again on demand. A refused query and unusable LLM settings are
messages on this page (422, 424, 502), never an error page; another user's conversation is a 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from mantissa_log.domain.queries import Conversation
from mantissa_log.errors import MantissaError, QueryRefused
from mantissa_log.services.query.audit import answer_detail, failure_detail
from mantissa_log.services.query.service import QueryAnswer
from mantissa_log.web.context import CurrentView, View
from mantissa_log.web.llm_pages import Problem, problem_of
from mantissa_log.web.paging import decode_cursor, paging
from mantissa_log.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _last_question(conversation: Conversation | None) -> str:
    if conversation is None:
        return ""
    asked = [t.question for t in conversation.turns if t.kind == "question" and t.question]
    return asked[-1] if asked else ""


def _page(
    view: View,
    *,
    conversation: Conversation | None = None,
    answer: QueryAnswer | None = None,
    problem: Problem | None = None,
    sql: str = "",
    question: str = "",
    next: str | None = None,
    trail: str | None = None,
) -> Response:
    """The page: the question box, the conversation so far, the SQL editor, the rows, and the history."""
    history = view.services.query.conversations_of(
        view.who, limit=view.prefs.items_per_page, start_key=decode_cursor(next, view.who.user_id)
    )
    conversation_id = conversation.conversation_id if conversation else None
    context: dict[str, Any] = {
        "conversation": conversation,
        "conversation_id": conversation_id or "",
        "answer": answer,
        "problem": problem,
        "sql": sql,
        "question": question,
        "last_question": _last_question(conversation),
        "history": history.items,
        "history_paging": paging("/query", {}, next, trail, history.next_key),
    }
    return view.render("query.html", status=problem.status if problem else 200, **context)


def _conversation_or_none(view: View, conversation_id: str | None) -> Conversation | None:
    return view.services.query.conversation(view.who, conversation_id) if conversation_id else None


@router.get("/query", name="web.query")
def query_page(view: CurrentView, next: str | None = None, trail: str | None = None) -> Response:
    return _page(view, next=next, trail=trail)


@router.post("/query", name="web.query.ask")
def ask(view: CurrentView) -> Response:
    question = view.form.get("question")
    conversation_id = view.form.text("conversation_id")
    _conversation_or_none(view, conversation_id)  # another user's conversation: 404 before any model call
    try:
        answer = view.services.query.ask(view.who, question, conversation_id)
    except MantissaError as exc:
        problem = problem_of(exc)
        if problem is None:
            raise
        view.audit(**failure_detail(exc))
        kept = exc.conversation_id if isinstance(exc, QueryRefused) and exc.conversation_id else conversation_id
        return _page(
            view,
            conversation=_conversation_or_none(view, kept),
            problem=problem,
            sql=problem.sql or "",
            question=question,
        )
    view.audit(**answer_detail(answer))
    return _page(view, conversation=_conversation_or_none(view, answer.conversation_id), answer=answer, sql=answer.sql)


@router.post("/query/sql", name="web.query.sql")
def run_sql(view: CurrentView) -> Response:
    sql = view.form.get("sql")
    conversation_id = view.form.text("conversation_id")
    _conversation_or_none(view, conversation_id)
    try:
        answer = view.services.query.run_sql(view.who, sql, conversation_id)
    except MantissaError as exc:
        problem = problem_of(exc)
        if problem is None:
            raise
        view.audit(**failure_detail(exc))
        kept = exc.conversation_id if isinstance(exc, QueryRefused) and exc.conversation_id else conversation_id
        return _page(view, conversation=_conversation_or_none(view, kept), problem=problem, sql=sql)
    view.audit(**answer_detail(answer))
    return _page(view, conversation=_conversation_or_none(view, answer.conversation_id), answer=answer, sql=answer.sql)


@router.get("/query/{conversation_id}", name="web.query.conversation.read")
def open_conversation(view: CurrentView, conversation_id: str) -> Response:
    conversation = view.services.query.conversation(view.who, conversation_id)
    last_sql = next((t.sql for t in reversed(conversation.turns) if t.sql), "")
    return _page(view, conversation=conversation, sql=last_sql or "")


@router.post("/query/{conversation_id}/delete", name="web.query.conversation.delete")
def delete_conversation(view: CurrentView, conversation_id: str) -> Response:
    view.services.query.delete_conversation(view.who, conversation_id)
    return view.redirect("/query", "success", "Conversation deleted.")
