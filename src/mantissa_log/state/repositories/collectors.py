"""Collectors: their configuration (`collectors`) and their runs' state (`collector-state`).

A worker runs a collector only under a lease (a conditional write: free, expired or its own), and
every checkpoint it writes is conditional on still holding that lease, so a worker whose lease was
taken over can never move a checkpoint backwards over the new holder's.
"""

from __future__ import annotations

import contextlib
from typing import Any

from mantissa_log.domain.collectors import Collector, CollectorState
from mantissa_log.errors import Conflict, NotFound
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.conditions import Compare, Exists, NotExists, any_of
from mantissa_log.state.tables import COLLECTOR_STATE, COLLECTORS


class CollectorRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    @staticmethod
    def _key(collector_id: str) -> dict[str, str]:
        return {"collector_id": collector_id}

    # -- configuration -----------------------------------------------------------------------
    def get(self, collector_id: str) -> Collector | None:
        item = self.backend.get(COLLECTORS, self._key(collector_id))
        return None if item is None else Collector.model_validate(item, strict=False)

    def all(self) -> list[Collector]:
        """Every collector, by id (a handful per installation: a scan is the right read)."""
        found = [Collector.model_validate(item, strict=False) for item in self.backend.scan(COLLECTORS)]
        return sorted(found, key=lambda c: c.collector_id)

    def create(self, collector: Collector) -> None:
        try:
            self.backend.put(COLLECTORS, collector.dump(), condition=NotExists("collector_id"))
        except Conflict:
            raise Conflict(f"collector {collector.collector_id} exists", field="collector_id") from None

    def replace(self, collector: Collector) -> None:
        try:
            self.backend.put(COLLECTORS, collector.dump(), condition=Exists("collector_id"))
        except Conflict:
            raise NotFound(f"no collector {collector.collector_id}", field="collector_id") from None

    def delete(self, collector_id: str) -> bool:
        found = self.backend.delete(COLLECTORS, self._key(collector_id))
        self.backend.delete(COLLECTOR_STATE, self._key(collector_id))
        return found

    # -- run state ---------------------------------------------------------------------------
    def state(self, collector_id: str) -> CollectorState:
        item = self.backend.get(COLLECTOR_STATE, self._key(collector_id))
        if item is None:
            return CollectorState(collector_id=collector_id)
        return CollectorState.model_validate(item, strict=False)

    def acquire(self, collector_id: str, owner: str, now: float, lease_seconds: float) -> bool:
        try:
            self.backend.update(
                COLLECTOR_STATE,
                self._key(collector_id),
                set_values={"lease_owner": owner, "lease_until": now + lease_seconds},
                condition=any_of(
                    NotExists("lease_owner"), Compare("lease_until", "<", now), Compare("lease_owner", "=", owner)
                ),
            )
        except Conflict:
            return False
        return True

    def advance(
        self, collector_id: str, owner: str, values: dict[str, Any], *, events: int, lease_until: float
    ) -> None:
        """Record a batch durably stored: the new checkpoint (and status), under the lease.

        Raises Conflict when the lease was lost: the caller stops, and the new holder re-reads
        from the checkpoint it finds (idempotent ingest makes the overlap harmless).
        """
        self.backend.update(
            COLLECTOR_STATE,
            self._key(collector_id),
            set_values={**values, "lease_until": lease_until},
            add_values={"events_total": events},
            condition=Compare("lease_owner", "=", owner),
        )

    def finish(self, collector_id: str, owner: str, values: dict[str, Any], remove: tuple[str, ...] = ()) -> None:
        """End a run: status fields, next due time, lease released (if still ours)."""
        with contextlib.suppress(Conflict):
            self.backend.update(
                COLLECTOR_STATE,
                self._key(collector_id),
                set_values=values,
                remove=("lease_owner", "lease_until", *remove),
                condition=Compare("lease_owner", "=", owner),
            )

    def reset(self, collector_id: str) -> None:
        """Forget the checkpoint (the next run starts from the configured beginning)."""
        self.backend.delete(COLLECTOR_STATE, self._key(collector_id))
