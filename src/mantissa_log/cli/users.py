"""`mantissa-log users ...`: create users and tokens (the token is printed once, alone on the last line)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from mantissa_log.cli.context import audit_cli, friendly_errors, open_services

app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
console = Console(soft_wrap=True)  # long paths stay on one line: greppable


@app.command("create")
@friendly_errors
def create(name: str, admin: bool = typer.Option(False, "--admin", help="may use /api/v1/admin")) -> None:
    """Create a user and print their API token (shown once; only its hash is stored)."""
    with open_services() as services:
        user, token = services.users.create_user(name, is_admin=admin)
        audit_cli(services, "user.create", user.user_id)
    typer.echo(f"created user {user.user_id}{' (admin)' if user.is_admin else ''}; API token:")
    typer.echo(token)


@app.command("token")
@friendly_errors
def token(name: str, ttl_days: int = typer.Option(0, min=0, help="expire after N days (0 = never)")) -> None:
    """Issue another token for an existing user."""
    with open_services() as services:
        new = services.users.issue_token(name, ttl_seconds=ttl_days * 86400 or None)
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
    table = Table("user_id", "admin", "created_at")
    for user in users:
        table.add_row(user.user_id, "yes" if user.is_admin else "no", user.created_at)
    console.print(table)
