"""Per-rule run state: the ingest-time watermark, the worker lease, and when the rule is due.

A worker takes a rule only through `acquire` (a conditional write: free, expired, or already
its own), advances the watermark only while holding the lease, then releases it.
"""

from __future__ import annotations

import contextlib
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
    """Where a rule's scheduled runs stand. A rule that never ran has the empty state."""

    watermark: str | None = None  # ingest time (ISO 8601, µs) up to which every event was evaluated
    next_due: float = 0.0  # epoch seconds of the next scheduled run
    lease_owner: str | None = None
    lease_until: float | None = None

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
        )


class RuleRunRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def state(self, user_id: str, rule_name: str) -> RunState:
        return RunState.from_item(self.backend.get(RULE_RUNS, {"rule_key": rule_key(user_id, rule_name)}))

    def states(self, keys: list[tuple[str, str]]) -> dict[str, RunState]:
        """Run state of many rules at once (BatchGetItem, 25 keys a request), by rule key."""
        items = self.backend.batch_get(RULE_RUNS, [{"rule_key": rule_key(u, r)} for u, r in keys])
        return {str(item["rule_key"]): RunState.from_item(item) for item in items}

    def acquire(self, user_id: str, rule_name: str, owner: str, now: float, lease_seconds: float) -> bool:
        try:
            self.backend.update(
                RULE_RUNS,
                {"rule_key": rule_key(user_id, rule_name)},
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

    def complete(
        self, user_id: str, rule_name: str, owner: str, *, watermark: str | None, next_due: float | None
    ) -> None:
        """Advance the watermark and release the lease, only if this worker still holds it."""
        values: dict[str, Any] = {}
        if watermark is not None:
            values["watermark"] = watermark
        if next_due is not None:
            values["next_due"] = next_due
        self.backend.update(
            RULE_RUNS,
            {"rule_key": rule_key(user_id, rule_name)},
            set_values=values,
            remove=("lease_owner", "lease_until"),
            condition=Compare("lease_owner", "=", owner),
        )

    def release(self, user_id: str, rule_name: str, owner: str) -> None:
        # A Conflict means someone else took the rule over after our lease expired: nothing to release.
        with contextlib.suppress(Conflict):
            self.backend.update(
                RULE_RUNS,
                {"rule_key": rule_key(user_id, rule_name)},
                remove=("lease_owner", "lease_until"),
                condition=Compare("lease_owner", "=", owner),
            )

    def reset(self, user_id: str, rule_name: str) -> None:
        self.backend.delete(RULE_RUNS, {"rule_key": rule_key(user_id, rule_name)})
