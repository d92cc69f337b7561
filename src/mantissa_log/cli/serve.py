"""`mantissa-log serve`: the API on the embedded default, with a first-run admin and TTL purging."""

from __future__ import annotations

import threading
import time

import typer

from mantissa_log.api.app import create_app
from mantissa_log.cli.context import friendly_errors
from mantissa_log.cli.http_server import build_server
from mantissa_log.config import load_settings
from mantissa_log.services.container import Services, build_services

THREADS_STOP_SECONDS = 2.0


def _first_run_admin(services: Services, base_url: str) -> None:
    if services.users.has_users():
        typer.echo("Log in with an API token: `.venv/bin/mantissa-log users create NAME [--role ROLE]` prints one.")
        return
    _, token = services.users.create_user("admin", role="admin")
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
    threads = [threading.Thread(target=services.worker.run, args=(stop,), name="worker", daemon=True)]
    for thread in threads:
        thread.start()
    typer.echo(f"Mantissa Log on http://{host}:{port} (state: {config.state_backend}, data home: {config.home})")
    try:
        build_server(create_app(config, services), host, port, config).run()
    finally:
        stop.set()
        # A tick in progress may finish (briefly: shutdown stays bounded); closing the stores
        # under a tick still running would turn its last writes into errors, so then they stay open.
        deadline = time.monotonic() + THREADS_STOP_SECONDS
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if not any(thread.is_alive() for thread in threads):
            services.close()
