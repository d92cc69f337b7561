"""The audit record and its keyed hash chain (pure functions; storage is in state/).

Each record's `hash` is HMAC-SHA256 under the installation's audit key (a random key kept wrapped
by the master key or KMS) over the canonical JSON of every other field, `prev_hash` included. A
database writer without the key can neither alter a record nor recompute the ones after it.
"""

from __future__ import annotations

import hashlib
import hmac
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


def record_hash(fields: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 under `key` over the canonical JSON of every field but `hash` (prev_hash included)."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def key_fingerprint(key: bytes) -> str:
    """Names the audit key without revealing it (kept with the checkpoints to notice a swapped key)."""
    return hmac.new(key, b"mantissa-log audit key fingerprint", hashlib.sha256).hexdigest()[:16]


def chain_record(event: AuditEvent, seq: int, prev_hash: str, key: bytes, chain: str = "main") -> AuditRecord:
    fields = event.dump() | {"chain": chain, "seq": seq, "prev_hash": prev_hash}
    return AuditRecord.model_validate(fields | {"hash": record_hash(fields, key)})


class ChainVerdict(StrictModel):
    ok: bool
    records: int  # the chain's length (its newest seq)
    first_bad_seq: int | None = None
    reason: str | None = None
    # Where this verification started (0: from the first record) and how many records it checked.
    verified_from: int = 0
    checked: int = 0
    head_hash: str | None = None  # the newest record's hash, when the chain verified
