"""The `mantissa-log` command."""

from __future__ import annotations

import typer

from mantissa_log.cli import admin, ask, deliveries, integrations, logs, rules, serve, users, worker

app = typer.Typer(help="Mantissa Log: a self-hostable SIEM core.", no_args_is_help=True, pretty_exceptions_enable=False)
app.command("serve")(serve.serve_command)
app.command("backup")(admin.backup_command)
app.command("restore")(admin.restore_command)
app.command("purge-expired")(admin.purge_command)
app.command("ingest")(logs.ingest_command)
app.command("hunt")(logs.hunt_command)
app.command("worker")(worker.worker_command)
app.command("ask")(ask.ask_command)
app.add_typer(rules.app, name="rules")
app.add_typer(integrations.app, name="integrations")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(users.app, name="users")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.secrets_app, name="secrets")


def main() -> None:
    app()
