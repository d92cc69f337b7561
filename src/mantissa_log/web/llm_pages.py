"""What the LLM pages share: a failure as a message on the page, drafts turned into the rule editor's pieces.

A question or a draft that cannot be answered is never an error page: a refused query (422), LLM
settings that cannot be used (424) and a provider that failed (502) are shown where the user asked,
naming the setting to fix and linking to /settings, with the HTTP status the API gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mantissa_log.errors import DependencyFailed, MantissaError, QueryRefused, UpstreamFailed, ValidationFailed
from mantissa_log.services.detection.draft import MAX_DESCRIPTION_CHARS, DraftIssue

# Settings a user changes on /settings (the others, like MANTISSA_LLM_TIMEOUT_SECONDS, are the server's).
USER_SETTINGS = ("llm_provider", "llm_model", "llm_base_url", "api_key", "api_key_secret_id", "preferences.")
QUERY_TITLES = {
    "query_refused": "Query refused",
    "query_failed": "The query failed",
    "query_timeout": "The query took too long",
    "query_memory": "The query needed too much memory",
}


@dataclass(frozen=True)
class Problem:
    """A failure shown on the page: `setting` names what to change, `on_settings` whether /settings has it."""

    status: int
    code: str
    title: str
    message: str
    setting: str | None = None
    on_settings: bool = False
    sql: str | None = None  # a refused query's text, put back in the editor to fix


def problem_of(exc: MantissaError) -> Problem | None:
    """The failure as the page shows it; None for errors that are a page of their own (404, 403, 503)."""
    if isinstance(exc, QueryRefused):
        title = QUERY_TITLES.get(exc.code, "Query refused")
        return Problem(422, exc.code, title, exc.message, sql=exc.sql)
    if isinstance(exc, DependencyFailed | UpstreamFailed):
        setting = exc.field
        on_settings = setting is not None and any(setting.startswith(s) for s in USER_SETTINGS)
        status = 424 if isinstance(exc, DependencyFailed) else 502
        title = "Your language model settings need a change" if status == 424 else "The language model failed"
        return Problem(status, exc.code, title, exc.message, setting=setting, on_settings=on_settings or status == 424)
    if isinstance(exc, ValidationFailed):
        return Problem(422, exc.code, "That did not work", exc.message, setting=exc.field)
    return None


def draft_description(description: str | None, question: str | None, sql: str | None) -> str:
    """What the detection model is asked for: the user's description, or one made from a question and its SQL."""
    if description:
        return description
    if not question:
        raise ValidationFailed("describe what the rule should detect", field="description")
    asked = f"Write a detection rule that finds what this question over the logs looks for: {question.strip()}"
    if not sql:
        return asked[:MAX_DESCRIPTION_CHARS]
    intro = "\n\nThe SQL that answered the question (context only: the rule is Sigma, not SQL):\n```sql\n"
    room = MAX_DESCRIPTION_CHARS - len(asked) - len(intro) - len("\n```")
    if room < 40:
        return asked[:MAX_DESCRIPTION_CHARS]
    return f"{asked}{intro}{sql.strip()[:room]}\n```"


def suggested_name(title: str | None) -> str:
    """A rule name from the draft's title: lowercase words joined by `_` (the user may change it)."""
    if not title:
        return ""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:120]


def first_error(issues: list[DraftIssue]) -> DraftIssue | None:
    """The issue the editor marks (its line first): the first error that names a line, else the first error."""
    errors = [i for i in issues if i.level == "error"]
    with_line = [i for i in errors if i.line is not None]
    found = with_line or errors
    return found[0] if found else None
