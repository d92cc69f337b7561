"""Per-rule run state: the ingest-time watermark, the worker lease, the run in progress, the next due time.

A worker takes a rule only through `acquire` (a conditional write: free, expired, or already its
own) and keeps it by `renew` (the heartbeat) while it runs. Before evaluating, it records the run
it is making (`begin`: the window's upper end); a worker that dies leaves that record, and the next
one re-runs exactly that window. `complete` then moves the watermark and clears the record and the
lease in one conditional write: only the lease holder can move a watermark.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mantissa_log.errors import Conflict
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.conditions import Compare, NotExists, any_of
from mantissa_log.state.tables import RULE_RUNS


def rule_key(user_id: str, rule_name: str) -> str:
    return f"{user_id}/{rule_name}"


@dataclass(frozen=True)
class RunState:
    """Where a rule's scheduled runs stand. A rule with no item has the empty state."""

    watermark: str | None = None  # ingest time (ISO 8601, µs) up to which every event was evaluated
    next_due: float = 0.0  # epoch seconds of the next scheduled run
    lease_owner: str | None = None
    lease_until: float | None = None
    run_until: str | None = None  # the upper end of a run that began and did not complete

    @staticmethod
    def from_item(item: dict[str, Any] | None) -> RunState:
        if not item:
            return RunState()
        lease_until = item.get("lease_until")
        return RunState(
            watermark=item.get("watermark"),
            next_due=float(item.get("next_due", 0)),
            lease_owner=item.get("lease_owner"),
            lease_until=None if lease_until is None else float(lease_until),
            run_until=item.get("run_until"),
        )


class RuleRunRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    @staticmethod
    def _key(user_id: str, rule_name: str) -> dict[str, str]:
        return {"rule_key": rule_key(user_id, rule_name)}

    def state(self, user_id: str, rule_name: str) -> RunState:
        return RunState.from_item(self.backend.get(RULE_RUNS, self._key(user_id, rule_name)))

    def states(self, keys: list[tuple[str, str]]) -> dict[str, RunState]:
        """Run state of many rules at once (BatchGetItem, 25 keys a request), by rule key."""
        items = self.backend.batch_get(RULE_RUNS, [self._key(u, r) for u, r in keys])
        return {str(item["rule_key"]): RunState.from_item(item) for item in items}

    def start(self, user_id: str, rule_name: str, watermark: str) -> None:
        """A rule starts (created or enabled): it sees what is ingested after `watermark`, due now.

        Replaces any earlier state, a lease included: a rule that was disabled runs from here.
        """
        self.backend.put(RULE_RUNS, self._key(user_id, rule_name) | {"watermark": watermark, "next_due": 0})

    def acquire(self, user_id: str, rule_name: str, owner: str, now: float, lease_seconds: float) -> bool:
        try:
            self.backend.update(
                RULE_RUNS,
                self._key(user_id, rule_name),
                set_values={"lease_owner": owner, "lease_until": now + lease_seconds},
                condition=any_of(
                    NotExists("lease_owner"),
                    Compare("lease_until", "<", now),
                    Compare("lease_owner", "=", owner),
                ),
            )
        except Conflict:
            return False
        return True

    def renew(self, keys: Sequence[tuple[str, str]], owner: str, lease_until: float) -> list[tuple[str, str]]:
        """Extend the leases this worker still holds (the heartbeat); returns the rules it lost."""
        lost = []
        for user_id, rule_name in keys:
            try:
                self.backend.update(
                    RULE_RUNS,
                    self._key(user_id, rule_name),
                    set_values={"lease_until": lease_until},
                    condition=Compare("lease_owner", "=", owner),
                )
            except Conflict:
                lost.append((user_id, rule_name))
        return lost

    def begin(self, user_id: str, rule_name: str, owner: str, run_until: str) -> None:
        """Record the run about to be made (its window's upper end), under the lease."""
        self.backend.update(
            RULE_RUNS,
            self._key(user_id, rule_name),
            set_values={"run_until": run_until},
            condition=Compare("lease_owner", "=", owner),
        )

    def complete(
        self, user_id: str, rule_name: str, owner: str, *, watermark: str | None, next_due: float | None
    ) -> None:
        """Advance the watermark (clearing the run record) and release the lease, only if this
        worker still holds it. Without a watermark the run record stays: the window is re-run."""
        values: dict[str, Any] = {}
        remove = ["lease_owner", "lease_until"]
        if watermark is not None:
            values["watermark"] = watermark
            remove.append("run_until")
        if next_due is not None:
            values["next_due"] = next_due
        self.backend.update(
            RULE_RUNS,
            self._key(user_id, rule_name),
            set_values=values,
            remove=tuple(remove),
            condition=Compare("lease_owner", "=", owner),
        )

    def release(self, user_id: str, rule_name: str, owner: str) -> None:
        # A Conflict means someone else took the rule over after our lease expired: nothing to release.
        with contextlib.suppress(Conflict):
            self.backend.update(
                RULE_RUNS,
                self._key(user_id, rule_name),
                remove=("lease_owner", "lease_until"),
                condition=Compare("lease_owner", "=", owner),
            )

    def reset(self, user_id: str, rule_name: str) -> None:
        self.backend.delete(RULE_RUNS, self._key(user_id, rule_name))
