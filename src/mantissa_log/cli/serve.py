"""`mantissa-log serve`: the API and the web UI on the embedded default, with a first-run admin,
TTL purging, and (with `--demo`) a day of sample activity with an intrusion inside."""

from __future__ import annotations

import logging
import threading
import time

import typer

from mantissa_log.api.app import create_app
from mantissa_log.cli.context import friendly_errors
from mantissa_log.cli.http_server import build_server
from mantissa_log.config import load_settings
from mantissa_log.errors import MantissaError
from mantissa_log.services.container import Services, build_services
from mantissa_log.services.identity import Principal

log = logging.getLogger("mantissa_log.serve")
LIVE_DEMO_EVERY = 60.0

THREADS_STOP_SECONDS = 2.0


def _first_run_admin(services: Services, base_url: str) -> None:
    if services.users.has_users():
        typer.echo(f"Open {base_url}/ and sign in with an API token.")
        typer.echo(
            "A new token: `.venv/bin/mantissa-log users token NAME`; a new user: `users create NAME [--role ROLE]`."
        )
        return
    _, token = services.users.create_user("admin", role="admin")
    services.audit.record(actor="cli", action="user.create", target="admin", client="local")
    typer.echo("First run: created user 'admin'. Its API token (shown once, keep it):")
    typer.echo(f"  {token}")
    typer.echo(f"Open {base_url}/ and sign in with it (the web UI), or use it with the API:")
    typer.echo(f"  curl -H 'Authorization: Bearer {token}' {base_url}/api/v1/me")


def _demo_owner(services: Services) -> Principal:
    users = sorted(services.users.list_users(), key=lambda u: (not u.is_admin, u.user_id != "admin", u.user_id))
    return Principal(users[0].user_id, users[0].role)


def _load_demo(services: Services) -> None:
    who = _demo_owner(services)
    if services.demo.has_demo(who):
        typer.echo(f"Demo data: already loaded for '{who.user_id}'; adding live activity every minute.")
        return
    typer.echo(
        f"Demo data: installing the starter rules for '{who.user_id}' "
        "and loading a day of CloudTrail, Okta and GitHub activity..."
    )
    report = services.demo.load(who)
    events = ", ".join(f"{n} {source}" for source, n in report.events.items())
    typer.echo(f"Demo data: {report.rules_created} rules, {events} events, {report.alerts} alerts raised.")
    services.audit.record(actor="cli", action="demo.load", target=who.user_id, client="local")


def _live_demo(services: Services, stop: threading.Event) -> None:
    while not stop.wait(LIVE_DEMO_EVERY):
        try:
            services.demo.live(minutes=1)
        except MantissaError as exc:
            log.warning("demo activity not added: %s", exc)


@friendly_errors
def serve_command(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
    demo: bool = typer.Option(
        False, "--demo", help="load sample activity with an intrusion inside (once), and keep adding some"
    ),
) -> None:
    """Serve the HTTP API and the web UI on the embedded default."""
    config = load_settings()
    services = build_services(config)
    base_url = f"http://{host}:{port}"
    _first_run_admin(services, base_url)
    stop = threading.Event()
    if demo:
        _load_demo(services)
        threading.Thread(target=_live_demo, args=(services, stop), name="demo", daemon=True).start()
    # The embedded default runs the worker's loops in-process; `mantissa-log worker` adds more workers.
    threads = [threading.Thread(target=services.worker.run, args=(stop,), name="worker", daemon=True)]
    for thread in threads:
        thread.start()
    typer.echo(f"Mantissa Log on {base_url} (state: {config.state_backend}, data home: {config.home})")
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
