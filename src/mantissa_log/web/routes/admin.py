"""Admin pages: the audit log with its chain verification, users and their tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from mantissa_log.errors import MantissaError, ValidationFailed
from mantissa_log.services.users import token_id_of
from mantissa_log.web.context import CurrentView
from mantissa_log.web.paging import decode_cursor, paging
from mantissa_log.web.roles import ROLES, create_user, require_admin, role_of
from mantissa_log.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/admin/audit", name="web.admin.audit")
def audit_page(
    view: CurrentView,
    actor: str | None = None,
    action: str | None = None,
    next: str | None = None,
    trail: str | None = None,
) -> Response:
    require_admin(view.who)
    page = view.services.audit.newest(
        limit=view.prefs.items_per_page,
        start_key=decode_cursor(next, None),
        actor=(actor or "").strip() or None,
        action=(action or "").strip() or None,
    )
    params = {"actor": actor or "", "action": action or ""}
    return view.render(
        "admin_audit.html",
        records=page.items,
        verdict=view.services.audit.verify(),
        paging=paging("/admin/audit", params, next, trail, page.next_key),
        filters=params,
    )


def _users_page(view: CurrentView, *, status: int = 200, **extra: Any) -> Response:
    users = sorted(view.services.users.list_users(), key=lambda u: u.user_id)
    tokens = {u.user_id: view.services.users.tokens_of(u.user_id) for u in users}
    context: dict[str, Any] = {
        "new_token": None,
        "new_token_user": None,
        "error": None,
        "form_user": "",
        "form_role": "analyst",
    }
    return view.render(
        "admin_users.html",
        status=status,
        users=users,
        tokens=tokens,
        roles=ROLES,
        role_of=role_of,
        token_id=token_id_of,
        **(context | extra),
    )


@router.get("/admin/users", name="web.admin.users")
def users_page(view: CurrentView) -> Response:
    require_admin(view.who)
    return _users_page(view)


@router.post("/admin/users", name="web.admin.user.create")
def create(view: CurrentView) -> Response:
    require_admin(view.who)
    user_id, role = view.form.get("user_id").strip(), view.form.get("role", "analyst")
    try:
        user, token = create_user(view.services, user_id, role)
    except MantissaError as exc:
        return _users_page(view, status=422, error=view.failed(exc), form_user=user_id, form_role=role)
    # The token goes into this response only: never into a redirect, a flash or a log.
    return _users_page(view, new_token=token, new_token_user=user.user_id)


@router.post("/admin/users/{user_id}/tokens", name="web.admin.token.create")
def issue_token(view: CurrentView, user_id: str) -> Response:
    require_admin(view.who)
    days_text = view.form.text("ttl_days")
    try:
        days = int(days_text) if days_text else 0
        if not 0 <= days <= 3650:
            raise ValueError
    except ValueError:
        return _users_page(view, status=422, error=view.failed(ValidationFailed("0 to 3650 days", field="ttl_days")))
    token = view.services.users.issue_token(
        user_id, ttl_seconds=days * 86_400 or None, description=view.form.text("description")
    )
    return _users_page(view, new_token=token, new_token_user=user_id)


@router.post("/admin/users/{user_id}/tokens/{token_id}/revoke", name="web.admin.token.revoke")
def revoke_token(view: CurrentView, user_id: str, token_id: str) -> Response:
    require_admin(view.who)
    view.services.users.revoke_token(user_id, token_id)
    return view.redirect("/admin/users", "success", f"Token {token_id} of {user_id} revoked; its sessions end now.")


@router.post("/admin/users/{user_id}/revoke-all", name="web.admin.token.revoke_all")
def revoke_all(view: CurrentView, user_id: str) -> Response:
    require_admin(view.who)
    count = view.services.users.revoke_tokens(user_id)
    return view.redirect("/admin/users", "success", f"{count} token(s) of {user_id} revoked.")
