"""Roles as the web UI shows and picks them: the one place that maps them onto `UserService`.

A user is an `admin`, an `analyst` or an `ingest` identity (a log shipper: its tokens can only
write the lake, so it can never open a web session). docs/SECURITY.md has the whole model.
"""

from __future__ import annotations

from typing import cast

from mantissa_log.domain.users import Role, User
from mantissa_log.errors import Forbidden, ValidationFailed
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal

ROLES = {
    "analyst": "Analyst: their own rules, alerts, integrations and settings; reads every log source",
    "admin": "Admin: also users, tokens and the audit log",
    "ingest": "Ingest: a log shipper; its tokens can only send events, never read or sign in",
}


def role_of(user: User | Principal) -> str:
    return user.role


def require_admin(who: Principal) -> None:
    if not who.is_admin:
        raise Forbidden("this page is for admins")


def create_user(services: Services, user_id: str, role: str) -> tuple[User, str]:
    """The new user and their first API token (shown once)."""
    if role not in ROLES:
        raise ValidationFailed(f"pick one of {', '.join(ROLES)}", field="role")
    return services.users.create_user(user_id, role=cast(Role, role))
