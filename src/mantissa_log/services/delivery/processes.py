"""More outbox processes beside the worker's own (`delivery_processes`, docs/DELIVERY.md).

One process's outbox is bound by the interpreter lock (building payloads, the store's Python
side, the HTTP exchange); a second process uses a second core. Each helper is a spawned process
that builds its own services from the same settings and runs only the delivery loop, under its
own worker id. Nothing else is needed for safety: every delivery is sent only under a claim
(a conditional write in the shared store), so processes never send one delivery at the same time,
and a helper that dies leaves its claims to expire and be sent again, as any worker does.

Helpers stop when the worker stops (their sends in flight finish and are recorded first) or when
the worker's process is gone (they watch their parent, so a killed worker leaves no orphans).
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.process
import signal
import threading
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as ProcessEvent
from multiprocessing.synchronize import Semaphore as SemaphoreType

from mantissa_log.config import Settings

log = logging.getLogger("mantissa_log.outbox")

# How long a stopping worker waits for a helper to finish its sends in flight (each send has its
# own deadline, at most three times a webhook's 120 s timeout) before terminating it.
STOP_WAIT_SECONDS = 400.0
PARENT_CHECK_SECONDS = 1.0


class DeliveryHelpers:
    """`count` helper processes running the delivery loop; `start` and `stop` from the worker."""

    def __init__(self, config: Settings, count: int) -> None:
        self.config = config.model_copy(update={"delivery_processes": 1})  # a helper starts no helpers
        self.count = count
        self._context = multiprocessing.get_context("spawn")  # no fork: threads and connections stay out
        self._stop: ProcessEvent | None = None
        self._ready = self._context.Semaphore(0)  # released once by each helper when it is delivering
        self._seen_ready = 0
        self._processes: list[SpawnProcess] = []

    def start(self) -> None:
        self._stop = self._context.Event()
        for number in range(self.count):
            process = self._context.Process(
                target=run_helper,
                args=(self.config, self._stop, self._ready),
                name=f"outbox-{number + 1}",
                daemon=False,
            )
            process.start()
            self._processes.append(process)
        log.info("outbox: %d helper process(es) started", self.count)

    def ready(self) -> int:
        """How many helpers have built their services and started delivering (a helper takes a few
        seconds to start: the benchmark measures the rate once all are up)."""
        while self._ready.acquire(block=False):
            self._seen_ready += 1
        return self._seen_ready

    def alive(self) -> int:
        return sum(p.is_alive() for p in self._processes)

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        for process in self._processes:
            process.join(STOP_WAIT_SECONDS)
            if process.is_alive():
                log.warning("outbox helper %s did not stop in time; terminating it", process.name)
                process.terminate()
                process.join(10)
        self._processes = []


def run_helper(config: Settings, stop: ProcessEvent, ready: SemaphoreType | None = None) -> None:
    """A helper process: its own services over the shared store, the delivery loop only."""
    from mantissa_log.services.container import build_services  # the composition root, in the child only

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the worker decides
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    parent = multiprocessing.process.parent_process()

    def watch() -> None:
        while not stop.wait(PARENT_CHECK_SECONDS):
            if parent is not None and not parent.is_alive():
                break
        stopping.set()

    threading.Thread(target=watch, name="outbox-helper-watch", daemon=True).start()
    services = build_services(config)
    if ready is not None:
        ready.release()
    try:
        services.worker.run(stopping, only=("delivery",))
    finally:
        services.close()
