"""Operator commands: backup/restore, audit verification, key rotation, TTL purge."""

from __future__ import annotations

from pathlib import Path

import typer

from mantissa_log.cli.context import audit_cli, friendly_errors, open_services

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True, rich_markup_mode=None)
secrets_app = typer.Typer(help="Secret store and master key.", no_args_is_help=True, rich_markup_mode=None)


@friendly_errors
def backup_command(file: Path) -> None:
    """Write every table and rule body to FILE (tar.gz). The master key is not included."""
    with open_services() as services:
        summary = services.admin.backup(file)
        audit_cli(services, "backup", str(file))
    items = sum(summary.tables.values())
    typer.echo(
        f"backed up {items} items in {len(summary.tables)} tables and {summary.rule_bodies} rule bodies to {file}"
    )


@friendly_errors
def restore_command(file: Path) -> None:
    """Replace the data tables and rule bodies with the content of FILE.

    API tokens and the audit log are kept as they are (a revoked token stays revoked, nothing
    audited since the backup is lost); users only the archive knows are added, without tokens.
    """
    with open_services() as services:
        result = services.admin.restore(file)
        summary = result.summary
        detail = {"archived_audit_head": str(summary.archived_audit_head), "users_added": str(len(summary.users_added))}
        if result.admin_user:
            detail["admin_token_issued_for"] = result.admin_user
        audit_cli(services, "restore", str(file), detail)
    typer.echo(f"restored {sum(summary.tables.values())} items and {summary.rule_bodies} rule bodies from {file}")
    typer.echo("kept as they were: API tokens, existing users, the audit log")
    if summary.users_added:
        typer.echo(f"users added without tokens (issue them one): {', '.join(summary.users_added)}")
    if result.admin_token:
        typer.echo(f"no admin held a token: new token for '{result.admin_user}' (shown once, keep it):")
        typer.echo(f"  {result.admin_token}")


@audit_app.command("verify")
@friendly_errors
def verify(
    since_checkpoint: bool = typer.Option(
        False, "--since-checkpoint", help="only the records after the last verified checkpoint"
    ),
) -> None:
    """Check the audit chain's MACs and links, and this host's head checkpoint; exit 1 if altered."""
    with open_services() as services:
        verdict = services.audit.verify(full=not since_checkpoint)
    if verdict.ok:
        typer.echo(
            f"audit chain OK: {verdict.records} records ({verdict.checked} checked from seq {verdict.verified_from}); "
            f"head hash {verdict.head_hash or '-'}"
        )
        return
    typer.echo(f"audit chain BROKEN at seq {verdict.first_bad_seq}: {verdict.reason}", err=True)
    raise typer.Exit(1)


@secrets_app.command("rotate-key")
@friendly_errors
def rotate_key() -> None:
    """New master key; re-wrap every vault entry and integration config; retire the old key."""
    with open_services() as services:
        result = services.admin.rotate_master_key()
        audit_cli(services, "master_key.rotate", result.new_key_id)
    typer.echo(
        f"active key {result.new_key_id}; re-wrapped {result.vault_entries} secrets and "
        f"{result.integration_configs} integration configs; retired {', '.join(result.retired) or 'none'}"
    )


@friendly_errors
def purge_command() -> None:
    """Remove items whose TTL has passed (the server also does this every minute)."""
    with open_services() as services:
        removed = services.admin.purge_expired()
    typer.echo(f"purged {removed} expired items")
