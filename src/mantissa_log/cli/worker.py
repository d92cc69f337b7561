"""`mantissa-log worker`: the scheduler and the delivery outbox as their own process (run several)."""

from __future__ import annotations

import signal
import threading

import typer

from mantissa_log.cli.context import friendly_errors, open_services


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
        try:
            while runner.is_alive():
                runner.join(0.5)
        except KeyboardInterrupt:
            stop.set()
            runner.join()
