"""`mantissa-log worker`: the scheduler and the delivery outbox as their own process (run several)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import typer

from mantissa_log.cli.context import friendly_errors, open_services
from mantissa_log.services.container import Services

TICK_SECONDS = 15.0


def _loop(name: str, tick: Callable[[], object], stop: threading.Event, every: float) -> None:
    while not stop.is_set():
        try:
            tick()
        except Exception:
            logging.getLogger(f"mantissa_log.{name}").exception("%s tick failed", name)
        stop.wait(every)


def scheduler_loop(services: Services, stop: threading.Event, every: float = TICK_SECONDS) -> None:
    """Run due rules and send due deliveries until stopped; a failing tick is logged and the loop goes on.

    Detection and delivery tick on their own threads: a slow receiver or a webhook template at its
    deadline never delays a rule's run (nor a run the deliveries).
    """
    outbox = threading.Thread(
        target=_loop, args=("outbox", services.delivery.tick, stop, every), name="mantissa-outbox", daemon=True
    )
    outbox.start()
    _loop("scheduler", services.detection.tick, stop, every)
    outbox.join(timeout=every)


@friendly_errors
def worker_command(
    once: bool = typer.Option(False, "--once", help="run what is due now, then exit"),
    every: float = typer.Option(TICK_SECONDS, "--every", min=1.0, help="seconds between ticks"),
) -> None:
    """Run due rules on a loop; any number of workers can share one state store (leases)."""
    with open_services() as services:
        if once:
            for result in services.detection.tick():
                alerts = len(result.alerts_created)
                typer.echo(f"{result.user_id}/{result.rule_name}: {result.status} {result.matches=} {alerts=}")
            report = services.delivery.tick()
            typer.echo(f"outbox: routed={report.routed} sent={report.sent} retried={report.retried} dead={report.dead}")
            return
        stop = threading.Event()
        typer.echo(f"worker {services.detection.worker_name} ticking every {every:.0f}s (Ctrl-C to stop)")
        try:
            scheduler_loop(services, stop, every)
        except KeyboardInterrupt:
            stop.set()
