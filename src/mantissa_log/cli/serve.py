"""`mantissa-log serve`: the API on the embedded default, with a first-run admin and TTL purging."""

from __future__ import annotations

import threading

import typer
import uvicorn

from mantissa_log.api.app import create_app
from mantissa_log.cli.context import friendly_errors
from mantissa_log.config import load_settings
from mantissa_log.services.container import Services, build_services


def _first_run_admin(services: Services, base_url: str) -> None:
    if services.users.has_users():
        typer.echo("Log in with an API token: `.venv/bin/mantissa-log users create NAME [--admin]` prints one.")
        return
    _, token = services.users.create_user("admin", is_admin=True)
    services.audit.record(actor="cli", action="user.create", target="admin", client="local")
    typer.echo("First run: created user 'admin'. Its API token (shown once, keep it):")
    typer.echo(f"  {token}")
    typer.echo("Use it as `Authorization: Bearer <token>`, e.g.")
    typer.echo(f"  curl -H 'Authorization: Bearer {token}' {base_url}/api/v1/me")


@friendly_errors
def serve_command(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
) -> None:
    """Serve the HTTP API (and, later, the web UI) on the embedded default."""
    config = load_settings()
    services = build_services(config)
    _first_run_admin(services, f"http://{host}:{port}")
    stop = threading.Event()
    # The embedded default runs the worker's loops in-process; `mantissa-log worker` adds more workers.
    threading.Thread(target=services.worker.run, args=(stop,), name="worker", daemon=True).start()
    typer.echo(f"Mantissa Log on http://{host}:{port} (state: {config.state_backend}, data home: {config.home})")
    try:
        uvicorn.run(create_app(config, services), host=host, port=port, log_level="info")
    finally:
        stop.set()
        services.close()
