"""Roles as the web UI shows and picks them: the one place that maps them onto `UserService`.

Today a user is an admin or not (`User.is_admin`); the role names shown are `admin` and
`analyst`. Roles proper (`admin|analyst` users, `ingest`-scoped tokens) are being added to the
user service on another branch: when they land, only this module changes.
"""

from __future__ import annotations

from mantissa_log.domain.users import User
from mantissa_log.errors import Forbidden, ValidationFailed
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal

ROLES = {
    "analyst": "Analyst: their own rules, alerts, integrations and settings",
    "admin": "Admin: also users, tokens and the audit log",
}


def role_of(user: User | Principal) -> str:
    return "admin" if user.is_admin else "analyst"


def require_admin(who: Principal) -> None:
    if not who.is_admin:
        raise Forbidden("this page is for admins")


def create_user(services: Services, user_id: str, role: str) -> tuple[User, str]:
    """The new user and their first API token (shown once)."""
    if role not in ROLES:
        raise ValidationFailed(f"pick one of {', '.join(ROLES)}", field="role")
    return services.users.create_user(user_id, is_admin=role == "admin")
