"""What every collector kind shares: a batch of events, the context a run gets, the kind's interface.

A kind reads from where logs live and yields `Batch`es in order; each batch carries the checkpoint
that is true once its events are in the lake. The runner (`service.py`) stores the batch, then
records the checkpoint, then calls `after_stored` (an SQS delete): a crash anywhere in between
repeats work that idempotent ingest (by event id) makes harmless, and never skips any.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mantissa_log.clock import Clock


@dataclass
class Batch:
    data: bytes  # a payload the source's parser reads (a CloudTrail file, a JSON array of events)
    checkpoint: dict[str, Any] | None  # the position once this batch is stored (None: unchanged)
    newest: datetime | None = None  # the newest event (or object) time it covers: the lag's origin
    label: str = ""  # where it came from (an S3 key, a page), for rejection reasons
    after_stored: Callable[[], None] | None = None  # runs once the batch and its checkpoint are stored


@dataclass
class RunContext:
    """What a kind may use besides its config and checkpoint."""

    clock: Clock
    secret: str | None  # the credential's value, read from the secret store for this run only
    allow_private_targets: bool = False
    sleep: Callable[[float], None] = time.sleep
    # The longest a run waits for a rate limit to reset before it stops and leaves it to the next run.
    max_wait_seconds: float = 60.0
    notes: list[str] = field(default_factory=list)  # what the run wants the status to show (rate limited, ...)


class CollectorKind(Protocol):
    def batches(self, checkpoint: dict[str, Any]) -> Iterator[Batch]:
        """Batches after `checkpoint`, oldest first; ends when caught up (or at a per-run cap)."""
        ...

    def probe(self) -> str:
        """One cheap read proving the configuration and credential work; a line saying what was seen."""
        ...
