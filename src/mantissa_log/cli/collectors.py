"""`mantissa-log collectors add|list|test|run|remove|reset`: log collectors, as an admin configures them.

A credential never goes on the command line (it would show in `ps` and the shell history): give
`--secret-env VAR` (an environment variable's value) or `--secret-stdin`, and it is stored in the
secret store; or `--secret-ref` for a secret already there.
"""

from __future__ import annotations

import json
import os
import sys

import typer
from pydantic import SecretStr

from mantissa_log.cli.context import audit_cli, friendly_errors, open_services
from mantissa_log.errors import ValidationFailed
from mantissa_log.services.identity import Principal

app = typer.Typer(
    help="Log collectors: CloudTrail (S3, SQS), Okta, GitHub, M365, Google Workspace.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
CLI_ADMIN = Principal("cli", role="admin")


def _config(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except ValueError:
        raise ValidationFailed("--config must be a JSON object", field="config") from None
    if not isinstance(value, dict):
        raise ValidationFailed("--config must be a JSON object", field="config")
    return value


def _secret(env: str | None, stdin: bool) -> SecretStr | None:
    if env and stdin:
        raise ValidationFailed("use --secret-env or --secret-stdin, not both", field="secret")
    if env:
        value = os.environ.get(env)
        if not value:
            raise ValidationFailed(f"environment variable {env} is empty or unset", field="secret")
        return SecretStr(value)
    if stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise ValidationFailed("no secret on standard input", field="secret")
        return SecretStr(value)
    return None


@app.command("add")
@friendly_errors
def add(
    collector_id: str = typer.Argument(..., help="a name for the collector"),
    kind: str = typer.Option(
        ..., "--kind", help="cloudtrail_s3, cloudtrail_sqs, okta, github, m365 or google_workspace"
    ),
    config: str = typer.Option("{}", "--config", help="the kind's settings as JSON (docs/COLLECTORS.md)"),
    secret_env: str | None = typer.Option(None, "--secret-env", help="read the credential from this variable"),
    secret_stdin: bool = typer.Option(False, "--secret-stdin", help="read the credential from standard input"),
    secret_ref: str | None = typer.Option(None, "--secret-ref", help="a secret already in the secret store"),
    every: int = typer.Option(60, "--every", help="seconds between runs"),
    disabled: bool = typer.Option(False, "--disabled", help="add it without running it"),
) -> None:
    """Add a collector (or replace one of that name)."""
    from mantissa_log.services.collectors.service import CollectorWrite

    write = CollectorWrite(
        kind=kind,
        config=_config(config),
        secret=_secret(secret_env, secret_stdin),
        secret_ref=secret_ref,
        every_seconds=every,
        enabled=not disabled,
    )
    with open_services() as services:
        existing = {v.collector.collector_id for v in services.collectors.all()}
        if collector_id in existing:
            view = services.collectors.update(CLI_ADMIN, collector_id, write)
            audit_cli(services, "collector.replace", collector_id)
        else:
            view = services.collectors.create(CLI_ADMIN, collector_id, write)
            audit_cli(services, "collector.create", collector_id)
    typer.echo(f"{view.collector.collector_id}: {view.collector.kind} -> source {view.collector.source}")


@app.command("list")
@friendly_errors
def list_collectors() -> None:
    """Every collector with its status, one JSON object a line."""
    with open_services() as services:
        views = services.collectors.all()
    for view in views:
        c, s = view.collector, view.status
        typer.echo(
            json.dumps(
                {
                    "collector_id": c.collector_id,
                    "kind": c.kind,
                    "enabled": c.enabled,
                    "every_seconds": c.every_seconds,
                    "secret_ref": c.secret_ref,
                    **s.__dict__,
                }
            )
        )


@app.command("test")
@friendly_errors
def test(collector_id: str) -> None:
    """One cheap read with the stored configuration and credential; exit 1 when it fails."""
    with open_services() as services:
        ok, message = services.collectors.test(collector_id)
        audit_cli(services, "collector.test", collector_id, {"ok": str(ok).lower()})
    typer.echo(("ok: " if ok else "failed: ") + message)
    if not ok:
        raise typer.Exit(1)


@app.command("run")
@friendly_errors
def run(collector_id: str) -> None:
    """Run now, up to the per-run caps; prints the counts; exit 1 when the run failed."""
    with open_services() as services:
        report = services.collectors.run(collector_id)
        audit_cli(services, "collector.run", collector_id, {"accepted": str(report.accepted)})
    typer.echo(json.dumps(report.__dict__))
    if report.error or not report.ran:
        raise typer.Exit(1)


@app.command("remove")
@friendly_errors
def remove(collector_id: str) -> None:
    """Remove a collector, its checkpoint and the credential stored for it."""
    with open_services() as services:
        services.collectors.delete(collector_id)
        audit_cli(services, "collector.delete", collector_id)
    typer.echo(f"removed {collector_id}")


@app.command("reset")
@friendly_errors
def reset(collector_id: str) -> None:
    """Forget the checkpoint: the next run starts over (the lake stores no event twice)."""
    with open_services() as services:
        services.collectors.reset(collector_id)
        audit_cli(services, "collector.reset", collector_id)
    typer.echo(f"reset {collector_id}")
