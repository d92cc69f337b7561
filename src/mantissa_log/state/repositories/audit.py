"""The append-only audit chain. There is no update or delete here, on purpose.

Appends race on a conditional put of seq = head + 1, so concurrent writers (threads or
processes, either backend) each land on their own position and the chain stays linear.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from mantissa_log.domain.audit import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    ChainVerdict,
    chain_record,
    record_hash,
)
from mantissa_log.errors import Conflict, StoreError
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import NotExists
from mantissa_log.state.repositories.common import ModelPage
from mantissa_log.state.tables import AUDIT_LOG

CHAIN = "main"
MAX_ATTEMPTS = 200


class AuditRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def head(self) -> AuditRecord | None:
        page = self.backend.query(AUDIT_LOG, CHAIN, limit=1, descending=True)
        return AuditRecord.model_validate(page.items[0]) if page.items else None

    def append(self, event: AuditEvent) -> AuditRecord:
        for attempt in range(MAX_ATTEMPTS):
            head = self.head()
            seq = head.seq + 1 if head else 1
            record = chain_record(event, seq, head.hash if head else GENESIS_HASH, CHAIN)
            try:
                self.backend.put(AUDIT_LOG, record.dump(), condition=NotExists("seq"))
            except Conflict:
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter only
                continue
            return record
        raise StoreError("audit log: too much contention to append")

    def newest(self, *, limit: int = 50, start_key: Key | None = None) -> ModelPage[AuditRecord]:
        page = self.backend.query(AUDIT_LOG, CHAIN, limit=limit, start_key=start_key, descending=True)
        return ModelPage([AuditRecord.model_validate(i) for i in page.items], page.next_key)

    def in_order(self) -> Iterator[AuditRecord]:
        start: Key | None = None
        while True:
            page = self.backend.query(AUDIT_LOG, CHAIN, limit=500, start_key=start)
            for item in page.items:
                yield AuditRecord.model_validate(item)
            if page.next_key is None:
                return
            start = page.next_key

    def verify(self) -> ChainVerdict:
        """Walk the chain: positions contiguous, each hash recomputes, each links to the last."""
        expected_prev = GENESIS_HASH
        count = 0
        for record in self.in_order():
            count += 1
            if record.seq != count:
                return ChainVerdict(
                    ok=False, records=count, first_bad_seq=record.seq, reason=f"gap: expected seq {count}"
                )
            if record.prev_hash != expected_prev:
                return ChainVerdict(ok=False, records=count, first_bad_seq=record.seq, reason="prev_hash does not link")
            if record_hash(record.dump()) != record.hash:
                return ChainVerdict(
                    ok=False, records=count, first_bad_seq=record.seq, reason="record altered: hash mismatch"
                )
            expected_prev = record.hash
        return ChainVerdict(ok=True, records=count)
