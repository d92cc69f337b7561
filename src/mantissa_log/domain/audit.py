"""The audit record and its hash chain (pure functions; storage is in state/)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import Field

from mantissa_log.domain.common import StrictModel, Timestamp

GENESIS_HASH = "0" * 64
Outcome = Literal["success", "denied", "error", "failure"]


class AuditEvent(StrictModel):
    """What happened, before it takes its place in the chain."""

    at: Timestamp
    actor: str
    action: str
    target: str | None = None
    outcome: Outcome = "success"
    status: int | None = None
    client: str | None = None
    detail: dict[str, str] = Field(default_factory=dict)


class AuditRecord(AuditEvent):
    chain: str = "main"
    seq: int = Field(ge=1)
    prev_hash: str
    hash: str


def record_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field but `hash` (prev_hash included)."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def chain_record(event: AuditEvent, seq: int, prev_hash: str, chain: str = "main") -> AuditRecord:
    fields = event.dump() | {"chain": chain, "seq": seq, "prev_hash": prev_hash}
    return AuditRecord.model_validate(fields | {"hash": record_hash(fields)})


class ChainVerdict(StrictModel):
    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None
