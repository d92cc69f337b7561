"""`mantissa-log users ...`: create users and tokens (the token is printed once, alone on the last line).

Roles (docs/SECURITY.md): `admin` (everything, plus /api/v1/admin), `analyst` (their own rules,
integrations, settings and alerts over the organisation's logs), `ingest` (a log shipper: may
only ingest events). Any user's token can be narrowed to ingest-only with `users token --ingest`.
"""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.console import Console
from rich.table import Table

from mantissa_log.cli.context import audit_cli, friendly_errors, open_services
from mantissa_log.errors import ValidationFailed

app = typer.Typer(help="Users and API tokens.", no_args_is_help=True, rich_markup_mode=None)
console = Console(soft_wrap=True)  # long paths stay on one line: greppable


class RoleChoice(StrEnum):
    admin = "admin"
    analyst = "analyst"
    ingest = "ingest"


@app.command("create")
@friendly_errors
def create(
    name: str,
    admin: bool = typer.Option(False, "--admin", help="same as --role admin"),
    role: RoleChoice | None = typer.Option(
        None, "--role", help="admin, analyst (the default) or ingest (a log shipper: can only ingest)"
    ),
) -> None:
    """Create a user and print their API token (shown once; only its hash is stored)."""
    if admin and role not in (None, RoleChoice.admin):
        raise ValidationFailed("--admin and --role disagree", field="role")
    chosen = "admin" if admin else (role.value if role else "analyst")
    with open_services() as services:
        user, token = services.users.create_user(name, role=chosen)  # type: ignore[arg-type]
        audit_cli(services, "user.create", user.user_id)
    typer.echo(f"created user {user.user_id} (role {user.role}); API token:")
    typer.echo(token)


@app.command("token")
@friendly_errors
def token(
    name: str,
    ttl_days: int = typer.Option(0, min=0, help="expire after N days (0 = never)"),
    ingest: bool = typer.Option(False, "--ingest", help="a token that can only ingest events (for log shippers)"),
    description: str | None = typer.Option(None, help="what the token is for, e.g. 'fluent-bit on web-1'"),
) -> None:
    """Issue another token for an existing user."""
    with open_services() as services:
        new = services.users.issue_token(
            name, ttl_seconds=ttl_days * 86400 or None, description=description, scope="ingest" if ingest else "user"
        )
        audit_cli(services, "token.create", name)
    typer.echo(new)


@app.command("revoke")
@friendly_errors
def revoke(name: str) -> None:
    """Revoke every token of a user."""
    with open_services() as services:
        count = services.users.revoke_tokens(name)
        audit_cli(services, "token.revoke", name)
    typer.echo(f"revoked {count} token(s) of {name}")


@app.command("list")
@friendly_errors
def list_users() -> None:
    with open_services() as services:
        users = services.users.list_users()
    table = Table("user_id", "role", "created_at")
    for user in users:
        table.add_row(user.user_id, user.role, user.created_at)
    console.print(table)
