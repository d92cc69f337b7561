"""`/rules`, `/rules/new`, `/rules/{name}`: the list with statistics, the YAML editor, tests, runs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response

from mantissa_log.domain.common import NAME_RE, Severity
from mantissa_log.errors import MantissaError, ValidationFailed
from mantissa_log.services.detection.rules import RuleView, RuleWrite
from mantissa_log.web.context import CurrentView
from mantissa_log.web.forms import safe_next
from mantissa_log.web.llm_pages import draft_description, first_error, problem_of, suggested_name
from mantissa_log.web.paging import decode_cursor, paging
from mantissa_log.web.route import WebRoute
from mantissa_log.web.rule_editor import RUN_RANGES, rule_error, starter_body
from mantissa_log.web.samples import sample_table

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/rules", name="web.rule.list")
def list_rules(
    view: CurrentView,
    enabled: Literal["true", "false", ""] = "",
    severity: Severity | None = None,
    next: str | None = None,
    trail: str | None = None,
) -> Response:
    page = view.services.rules.list(
        view.who,
        enabled=None if not enabled else enabled == "true",
        severity=severity,
        limit=view.prefs.items_per_page,
        start_key=decode_cursor(next, view.who.user_id),
    )
    params: dict[str, str] = {"enabled": enabled, "severity": severity or ""}
    return view.render(
        "rules.html",
        rules=page.items,
        paging=paging("/rules", params, next, trail, page.next_key),
        filters=params,
    )


@router.post("/rules/{rule_name}/enable", name="web.rule.enable")
def enable_rule(view: CurrentView, rule_name: str) -> Response:
    view.services.rules.set_enabled(view.who, rule_name, True)
    return view.redirect(
        safe_next(view.form.get("next"), "/rules"), "success", f"{rule_name} enabled: it sees events from now on."
    )


@router.post("/rules/{rule_name}/disable", name="web.rule.disable")
def disable_rule(view: CurrentView, rule_name: str) -> Response:
    view.services.rules.set_enabled(view.who, rule_name, False)
    return view.redirect(safe_next(view.form.get("next"), "/rules"), "success", f"{rule_name} disabled.")


def _editor(
    view: CurrentView, *, body: str, name: str | None, existing: RuleView | None, status: int = 200, **extra: Any
) -> Response:
    return view.render(
        "rule_edit.html",
        status=status,
        body=body,
        name=name or "",
        existing=existing,
        run_ranges=RUN_RANGES,
        **(
            {
                "validated": None,
                "error": None,
                "tests": None,
                "run": None,
                "run_samples": None,
                "run_range": "24h",
                "draft": None,
                "draft_samples": None,
                "problem": None,
                "description": "",
                "from_conversation": "",
                "focus_draft": False,
            }
            | extra
        ),
    )


def _check(view: CurrentView, body: str, name: str | None, existing: RuleView | None, action: str) -> Response | None:
    """Validate or test the text in the editor; None when the action is something else."""
    try:
        if action == "validate":
            checked = view.services.detection.validate_text(body)
            return _editor(view, body=body, name=name, existing=existing, validated=checked)
        if action == "test":
            outcomes = view.services.detection.test_text(body)
            return _editor(view, body=body, name=name, existing=existing, tests=outcomes)
    except MantissaError as exc:
        return _editor(view, body=body, name=name, existing=existing, status=422, error=rule_error(exc, body))
    return None


@router.get("/rules/new", name="web.rule.new")
def new_rule(view: CurrentView, ai: str = "") -> Response:
    return _editor(view, body=starter_body(view.who.user_id, view.now), name="", existing=None, focus_draft=bool(ai))


@router.post("/rules/new/draft", name="web.rule.draft")
def draft_rule(view: CurrentView) -> Response:
    """A draft from the user's detection model, in the editor: nothing is saved until they press Create."""
    form = view.form
    conversation_id = form.text("conversation_id") or ""
    if conversation_id:  # only a link back, but never to another user's conversation
        view.services.query.conversation(view.who, conversation_id)
    description = ""
    try:
        description = draft_description(form.text("description"), form.text("question"), form.text("sql"))
        draft = view.services.drafts.draft(view.who, description)
    except MantissaError as exc:
        problem = problem_of(exc)
        if problem is None:
            raise
        body = starter_body(view.who.user_id, view.now)
        return _editor(
            view,
            body=body,
            name="",
            existing=None,
            status=problem.status,
            problem=problem,
            description=description or form.get("description"),
            from_conversation=conversation_id,
            focus_draft=True,
        )
    view.audit(valid=str(draft.valid).lower(), attempts=str(draft.attempts))
    body = draft.body or starter_body(view.who.user_id, view.now)
    marked = first_error(draft.issues)
    error = None
    if marked is not None:
        error = rule_error(ValidationFailed(marked.message, field=marked.check, line=marked.line), body)
    return _editor(
        view,
        body=body,
        name=suggested_name(draft.title),
        existing=None,
        draft=draft,
        draft_samples=sample_table(draft.samples),
        tests=draft.tests if draft.body else None,
        error=error,
        description=description,
        from_conversation=conversation_id,
    )


@router.post("/rules/new", name="web.rule.create")
def create_rule(view: CurrentView) -> Response:
    body, name, action = view.form.get("body"), (view.form.text("rule_name") or ""), view.form.get("action", "save")
    checked = _check(view, body, name, None, action)
    if checked is not None:
        return checked
    try:
        if not NAME_RE.match(name):
            raise ValidationFailed("a name of letters, digits, '.', '_' or '-' (up to 128)", field="rule_name")
        view.services.rules.create(view.who, RuleWrite(rule_name=name, body=body), "web_ui")
    except MantissaError as exc:
        return _editor(view, body=body, name=name, existing=None, status=422, error=rule_error(exc, body))
    return view.redirect(
        f"/rules/{name}", "success", f"Rule {name} saved; it runs on its schedule over events arriving from now on."
    )


@router.get("/rules/{rule_name}", name="web.rule.read")
def edit_rule(view: CurrentView, rule_name: str) -> Response:
    existing = view.services.rules.get(view.who, rule_name)
    return _editor(view, body=existing.body, name=rule_name, existing=existing)


@router.post("/rules/{rule_name}", name="web.rule.replace")
def replace_rule(view: CurrentView, rule_name: str) -> Response:
    existing = view.services.rules.get(view.who, rule_name)
    body, action = view.form.get("body"), view.form.get("action", "save")
    checked = _check(view, body, rule_name, existing, action)
    if checked is not None:
        return checked
    try:
        # Saving the text keeps the rule on or off as it is (the list's switch decides that).
        write = RuleWrite(body=body, enabled=existing.rule.enabled == "true")
        view.services.rules.replace(view.who, rule_name, write)
    except MantissaError as exc:
        return _editor(view, body=body, name=rule_name, existing=existing, status=422, error=rule_error(exc, body))
    return view.redirect(f"/rules/{rule_name}", "success", "Saved.")


@router.post("/rules/{rule_name}/run", name="web.rule.run")
def run_rule(view: CurrentView, rule_name: str) -> Response:
    existing = view.services.rules.get(view.who, rule_name)
    chosen = view.form.get("range", "24h")
    if chosen not in RUN_RANGES:
        raise ValidationFailed("pick a range", field="range")
    span = RUN_RANGES[chosen][1]
    try:
        result = view.services.detection.run_now(view.who, rule_name, since=None if span is None else view.now - span)
    except MantissaError as exc:
        return _editor(
            view,
            body=existing.body,
            name=rule_name,
            existing=existing,
            status=422,
            error=rule_error(exc, existing.body),
            run_range=chosen,
        )
    fresh = view.services.rules.get(view.who, rule_name)
    return _editor(
        view,
        body=fresh.body,
        name=rule_name,
        existing=fresh,
        run=result,
        run_range=chosen,
        run_samples=sample_table(result.samples),
    )


@router.post("/rules/{rule_name}/delete", name="web.rule.delete")
def delete_rule(view: CurrentView, rule_name: str) -> Response:
    view.services.rules.delete(view.who, rule_name)
    return view.redirect("/rules", "success", f"Rule {rule_name} deleted. Its alerts stay.")
