"""`mantissa-log worker`: the scheduler and the delivery outbox as their own process (run several)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import typer

from mantissa_log.cli.context import friendly_errors, open_services

HEARTBEAT_SECONDS = 10.0
HEALTHY_WITHIN_SECONDS = 60.0


def heartbeat_path(home: Path) -> Path:
    return home / "worker.heartbeat"


def healthcheck_command(
    worker: bool = typer.Option(False, "--worker", help="check the worker's heartbeat instead of the HTTP server"),
    url: str = typer.Option("http://127.0.0.1:8000/healthz", "--url", help="the server's /healthz"),
) -> None:
    """Exit 0 when this container's process is healthy (for Docker/ECS health checks); 1 otherwise."""
    import os

    if worker or os.environ.get("MANTISSA_HEALTHCHECK") == "worker":
        home = Path(os.environ.get("MANTISSA_HOME", ".mantissa"))
        try:
            age = time.time() - float(heartbeat_path(home).read_text())
        except (OSError, ValueError):
            typer.echo("unhealthy: no worker heartbeat")
            sys.exit(1)
        if age > HEALTHY_WITHIN_SECONDS:
            typer.echo(f"unhealthy: last heartbeat {age:.0f} s ago")
            sys.exit(1)
        typer.echo("healthy")
        return
    import httpx

    try:
        answer = httpx.get(url, timeout=5)
    except httpx.HTTPError as exc:
        typer.echo(f"unhealthy: {exc}")
        sys.exit(1)
    if answer.status_code != 200:
        typer.echo(f"unhealthy: HTTP {answer.status_code}")
        sys.exit(1)
    typer.echo("healthy")


@friendly_errors
def worker_command(
    once: bool = typer.Option(False, "--once", help="run what is due now, then exit"),
) -> None:
    """Run detection, delivery and housekeeping loops; any number of workers can share one state store."""
    with open_services() as services:
        if once:
            for result in services.detection.tick():
                alerts = len(result.alerts_created)
                typer.echo(f"{result.user_id}/{result.rule_name}: {result.status} {result.matches=} {alerts=}")
            report = services.delivery.tick()
            typer.echo(f"outbox: routed={report.routed} sent={report.sent} retried={report.retried} dead={report.dead}")
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        typer.echo(f"worker {services.detection.worker_name} running (Ctrl-C to stop)")
        runner = threading.Thread(target=services.worker.run, args=(stop,), name="worker")
        runner.start()
        heartbeat = heartbeat_path(services.config.home)
        beat: float | None = None  # monotonic; None: not yet written (any number could be recent: see outbox)
        try:
            while runner.is_alive():
                runner.join(0.5)
                due = beat is None or time.monotonic() - beat >= HEARTBEAT_SECONDS
                if due and not services.worker.stalled(time.monotonic()):
                    # Only a worker whose every loop keeps finishing passes says it is alive.
                    heartbeat.write_text(str(time.time()))
                    beat = time.monotonic()
        except KeyboardInterrupt:
            stop.set()
            runner.join()
