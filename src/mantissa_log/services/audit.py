"""Audit use cases: record who did what, read the chain, verify it."""

from __future__ import annotations

from mantissa_log.clock import Clock, iso_us
from mantissa_log.domain.audit import AuditEvent, AuditRecord, ChainVerdict, Outcome
from mantissa_log.state.backend import Key
from mantissa_log.state.repositories.audit import AuditRepository
from mantissa_log.state.repositories.common import ModelPage


class AuditService:
    def __init__(self, repo: AuditRepository, clock: Clock) -> None:
        self.repo = repo
        self.clock = clock

    def record(
        self,
        *,
        actor: str,
        action: str,
        target: str | None = None,
        outcome: Outcome = "success",
        status: int | None = None,
        client: str | None = None,
        detail: dict[str, str] | None = None,
    ) -> AuditRecord:
        return self.repo.append(
            AuditEvent(
                at=iso_us(self.clock.now()),  # µs: many records share a second
                actor=actor,
                action=action,
                target=target,
                outcome=outcome,
                status=status,
                client=client,
                detail=detail or {},
            )
        )

    def newest(
        self,
        *,
        limit: int = 50,
        start_key: Key | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> ModelPage[AuditRecord]:
        page = self.repo.newest(limit=limit, start_key=start_key)
        page.items = [
            r
            for r in page.items
            if (actor is None or r.actor == actor) and (action is None or r.action.startswith(action))
        ]
        return page

    def head(self) -> AuditRecord | None:
        return self.repo.head()

    def verify(self) -> ChainVerdict:
        return self.repo.verify()
