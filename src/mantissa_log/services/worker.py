"""The worker's loops: detection, delivery, collectors and housekeeping, each on its own thread and clock.

Detection ticks every `detection_every` seconds; the outbox pumps every `delivery_every` seconds
(so retries happen when they are due, not when the next detection tick comes round), and a slow
scan never delays a delivery nor a slow receiver a scan. The collectors loop looks every
`collectors_every` seconds for collectors that are due (each has its own period) and runs them.
Housekeeping (orphaned temporary files, compaction, TTL purge) runs apart on a longer period.
A loop whose pass fails logs it and goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mantissa_log.services.admin import AdminService
from mantissa_log.services.collectors.service import CollectorService
from mantissa_log.services.delivery.processes import DeliveryHelpers
from mantissa_log.services.delivery.service import DeliveryService
from mantissa_log.services.detection.service import DetectionService
from mantissa_log.services.logs import LogService

log = logging.getLogger("mantissa_log.worker")


@dataclass(frozen=True)
class Cadence:
    detection_every: float = 15.0
    delivery_every: float = 1.0
    # While deliveries are in flight the outbox is pumped again this soon: it keeps at most
    # `concurrency * IN_FLIGHT_PER_SENDER` in flight, so one pump a second would cap delivery at
    # that many alerts a second.
    delivery_busy_every: float = 0.01
    collectors_every: float = 5.0
    purge_every: float = 60.0
    housekeeping_every: float = 600.0


class Worker:
    def __init__(
        self,
        detection: DetectionService,
        delivery: DeliveryService,
        logs: LogService,
        admin: AdminService,
        collectors: CollectorService | None = None,
        cadence: Cadence = Cadence(),
        delivery_helpers: DeliveryHelpers | None = None,
    ) -> None:
        self.detection = detection
        self.delivery = delivery
        self.logs = logs
        self.admin = admin
        self.collectors = collectors
        self.cadence = cadence
        # More processes running the delivery loop while this worker's runs (`delivery_processes`).
        self.delivery_helpers = delivery_helpers
        # When each loop last finished a pass (monotonic seconds): a loop stuck in one pass is a sick worker.
        self.last_pass: dict[str, float] = {}

    def stalled(self, now: float) -> list[str]:
        """Loops that have not finished a pass for four of their periods (and at least 15 minutes)."""
        started = self.last_pass.get("_started", now)
        return [
            name for name, _, every in self.loops() if now - self.last_pass.get(name, started) > max(4 * every, 900.0)
        ]

    def loops(self) -> list[tuple[str, Callable[[], object], float]]:
        loops: list[tuple[str, Callable[[], object], float]] = [
            ("detection", self.detection.tick, self.cadence.detection_every),
            ("delivery", self.delivery.pump, self.cadence.delivery_every),
            ("purge", self.admin.purge_expired, self.cadence.purge_every),
            ("housekeeping", self.logs.maintain, self.cadence.housekeeping_every),
        ]
        if self.collectors is not None:
            loops.append(("collectors", self.collectors.tick, self.cadence.collectors_every))
        return loops

    def run(self, stop: threading.Event, *, only: tuple[str, ...] | None = None) -> None:
        """Run the loops (all, or those named) until `stop` is set; returns once every loop ended."""
        self.last_pass["_started"] = time.monotonic()
        busy = {"delivery": self.cadence.delivery_busy_every}
        threads = [
            threading.Thread(
                target=_loop,
                args=(name, step, every, stop, self.last_pass, busy.get(name)),
                name=f"worker-{name}",
                daemon=True,
            )
            for name, step, every in self.loops()
            if only is None or name in only
        ]
        helpers = self.delivery_helpers if any(t.name == "worker-delivery" for t in threads) else None
        if helpers is not None:
            helpers.start()
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            if helpers is not None:
                helpers.stop()  # their sends in flight finish and are recorded first
        self.delivery.close()


def _loop(
    name: str,
    step: Callable[[], object],
    every: float,
    stop: threading.Event,
    last_pass: dict[str, float],
    busy_every: float | None = None,
) -> None:
    """`step` every `every` seconds; with `busy_every`, a pass answering a positive count (work
    still in hand) is followed by the next one after `busy_every` instead."""
    while not stop.is_set():
        pause = every
        try:
            result = step()
        except Exception:
            log.exception("%s pass failed; the next one runs in %.0f s", name, every)
        else:
            if busy_every is not None and isinstance(result, int) and result > 0:
                pause = busy_every
        last_pass[name] = time.monotonic()
        stop.wait(pause)
