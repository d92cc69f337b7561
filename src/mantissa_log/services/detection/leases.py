"""The heartbeat that keeps a worker's rule leases alive while its runs are.

Leases are short so that a crashed worker's rules are taken over quickly; a long scan must then
renew them, or another worker would take the rule mid-run. The keeper renews every lease it holds
every third of the lease length, on its own thread, until the tick ends.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from mantissa_log.clock import Clock
from mantissa_log.state.repositories.rule_runs import RuleRunRepository

log = logging.getLogger("mantissa_log.leases")


class LeaseKeeper:
    def __init__(self, runs: RuleRunRepository, owner: str, lease_seconds: float, clock: Clock) -> None:
        self.runs = runs
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._held: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    def hold(self, user_id: str, rule_name: str) -> None:
        with self._lock:
            self._held.add((user_id, rule_name))

    def drop(self, user_id: str, rule_name: str) -> None:
        with self._lock:
            self._held.discard((user_id, rule_name))

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:
                held = sorted(self._held)
            try:
                lost = self.runs.renew(held, self.owner, self.clock.now().timestamp() + self.lease_seconds)
            except Exception:
                log.exception("renewing rule leases failed; trying again")
                continue
            for user_id, rule_name in lost:
                log.warning("lost the lease of %s/%s to another worker", user_id, rule_name)
                self.drop(user_id, rule_name)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
