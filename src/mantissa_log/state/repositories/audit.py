"""The append-only audit chain. There is no update or delete here, on purpose.

Appends race on a conditional put of seq = head + 1, so concurrent writers (threads or
processes, either backend) each land on their own position and the chain stays linear.

Records are keyed (`domain.audit.record_hash`): the audit key is 32 random bytes created on the
first append and stored in the same table (partition `_keys`) as an envelope wrapped by the
master key or KMS (the `FieldCipher`), so a database writer can read the records but not forge
one. Master-key rotation re-wraps it (`rewrap_key`); the key itself never changes.
"""

from __future__ import annotations

import base64
import random
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

from mantissa_log.domain.audit import (
    GENESIS_HASH,
    AuditEvent,
    AuditRecord,
    ChainVerdict,
    chain_record,
    key_fingerprint,
    record_hash,
)
from mantissa_log.errors import Conflict, StoreError
from mantissa_log.state.backend import Key, StateBackend
from mantissa_log.state.conditions import NotExists
from mantissa_log.state.repositories.common import FieldCipher, ModelPage
from mantissa_log.state.tables import AUDIT_LOG

CHAIN = "main"
KEYS = "_keys"
KEY_AAD = "audit-log:key"
MAX_ATTEMPTS = 200


class Rewrapper(FieldCipher, Protocol):
    """A cipher that can also re-wrap an envelope under the current master key (rotation)."""

    def needs_rewrap(self, envelope: dict[str, str]) -> bool: ...

    def rewrap(self, envelope: dict[str, str]) -> dict[str, str]: ...


class AuditRepository:
    def __init__(self, backend: StateBackend, cipher: FieldCipher) -> None:
        self.backend = backend
        self.cipher = cipher
        self._key: bytes | None = None
        self._key_lock = threading.Lock()

    # -- the key -------------------------------------------------------------------------------
    def key(self) -> bytes:
        """The audit key, created (race-free) on first use."""
        with self._key_lock:
            if self._key is None:
                self._key = self._load_or_create_key()
            return self._key

    def fingerprint(self) -> str:
        return key_fingerprint(self.key())

    def _load_or_create_key(self) -> bytes:
        for _ in range(3):
            item = self.backend.get(AUDIT_LOG, {"chain": KEYS, "seq": 1})
            if item is not None:
                return base64.b64decode(self.cipher.decrypt_json(item["envelope"], KEY_AAD))
            fresh = secrets.token_bytes(32)
            envelope = self.cipher.encrypt_json(base64.b64encode(fresh).decode(), KEY_AAD)
            try:
                self.backend.put(AUDIT_LOG, {"chain": KEYS, "seq": 1, "envelope": envelope}, condition=NotExists("seq"))
            except Conflict:
                continue  # another process created it first: use theirs
            return fresh
        raise StoreError("audit log: cannot create or read the audit key")

    def rewrap_key(self, cipher: Rewrapper) -> bool:
        """Re-wrap the stored key under the active master key; True when it was rewritten."""
        item = self.backend.get(AUDIT_LOG, {"chain": KEYS, "seq": 1})
        if item is None or not cipher.needs_rewrap(item["envelope"]):
            return False
        self.backend.put(AUDIT_LOG, item | {"envelope": cipher.rewrap(item["envelope"])})
        return True

    # -- the chain -----------------------------------------------------------------------------
    def head(self) -> AuditRecord | None:
        page = self.backend.query(AUDIT_LOG, CHAIN, limit=1, descending=True)
        return AuditRecord.model_validate(page.items[0]) if page.items else None

    def get(self, seq: int) -> AuditRecord | None:
        item = self.backend.get(AUDIT_LOG, {"chain": CHAIN, "seq": seq})
        return None if item is None else AuditRecord.model_validate(item)

    def intact(self, record: AuditRecord) -> bool:
        """Whether the record's MAC recomputes under the audit key."""
        return record_hash(record.dump(), self.key()) == record.hash

    def append(self, event: AuditEvent) -> AuditRecord:
        key = self.key()
        for attempt in range(MAX_ATTEMPTS):
            head = self.head()
            seq = head.seq + 1 if head else 1
            record = chain_record(event, seq, head.hash if head else GENESIS_HASH, key, CHAIN)
            try:
                self.backend.put(AUDIT_LOG, record.dump(), condition=NotExists("seq"))
            except Conflict:
                time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311 - jitter only
                continue
            return record
        raise StoreError("audit log: too much contention to append")

    def append_many(self, events: list[AuditEvent]) -> list[AuditRecord]:
        """Append in order, removing each event from `events` once its record is written (so a
        caller retrying after a failure part-way never writes one twice). The head is read once,
        and again only when another writer took the next position."""
        key = self.key()
        written: list[AuditRecord] = []
        head = self.head()
        attempt = 0
        while events:
            seq = head.seq + 1 if head else 1
            record = chain_record(events[0], seq, head.hash if head else GENESIS_HASH, key, CHAIN)
            try:
                self.backend.put(AUDIT_LOG, record.dump(), condition=NotExists("seq"))
            except Conflict:
                attempt += 1
                if attempt >= MAX_ATTEMPTS:
                    raise StoreError("audit log: too much contention to append") from None
                time.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311 - jitter only
                head = self.head()
                continue
            del events[0]
            written.append(record)
            head, attempt = record, 0
        return written

    def newest(self, *, limit: int = 50, start_key: Key | None = None) -> ModelPage[AuditRecord]:
        page = self.backend.query(AUDIT_LOG, CHAIN, limit=limit, start_key=start_key, descending=True)
        return ModelPage([AuditRecord.model_validate(i) for i in page.items], page.next_key)

    def in_order(self, after: int = 0) -> Iterator[AuditRecord]:
        """Records with seq > `after`, oldest first."""
        start: Key | None = None
        while True:
            page = self.backend.query(AUDIT_LOG, CHAIN, limit=500, start_key=start, range_from=after + 1)
            for item in page.items:
                yield AuditRecord.model_validate(item)
            if page.next_key is None:
                return
            start = page.next_key

    def verify(self, *, after: int = 0, prev_hash: str = GENESIS_HASH) -> ChainVerdict:
        """Walk the chain after `after` (whose record's hash is `prev_hash`): positions contiguous,
        each MAC recomputes under the audit key, each record links to the one before."""
        key = self.key()
        expected_prev = prev_hash
        seq = after
        checked = 0

        def broken(at: int, reason: str) -> ChainVerdict:
            return ChainVerdict(
                ok=False, records=seq, first_bad_seq=at, reason=reason, verified_from=after, checked=checked
            )

        for record in self.in_order(after):
            checked += 1
            if record.seq != seq + 1:
                return broken(record.seq, f"gap: expected seq {seq + 1}")
            seq = record.seq
            if record.prev_hash != expected_prev:
                return broken(record.seq, "prev_hash does not link")
            fields: dict[str, Any] = record.dump()
            if record_hash(fields, key) != record.hash:
                return broken(record.seq, "record altered: MAC mismatch")
            expected_prev = record.hash
        return ChainVerdict(ok=True, records=seq, verified_from=after, checked=checked)
