"""The detection query interface: what a scan is asked, and what it answers (plain data)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mantissa_log.sigma.compiled import CompiledRule


@dataclass(frozen=True)
class RuleWindow:
    """Ingest time `(start, end]` is counted; matches after `watermark` are new."""

    start: datetime
    watermark: datetime
    end: datetime


@dataclass(frozen=True)
class RuleScan:
    """One rule to evaluate over `(window.start, window.end]` of its source."""

    rule: CompiledRule
    window: RuleWindow


@dataclass
class GroupResult:
    """What one rule found in its window: for a plain rule one result, for a correlation one per group."""

    group: dict[str, str | None] | None
    count: int
    new: int
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RuleFailure:
    """A rule that could not be evaluated; `message` is fit to show its owner (no SQL, no paths)."""

    message: str


# What a failure message may not show its reader: file paths of this server, SQL after "LINE n:".
_PATH = re.compile(r"'?(?:/[^\s'\"]+)+'?")
_MESSAGE_LIMIT = 300


def failure(exc: BaseException) -> RuleFailure:
    """A message for the rule's owner: the kind of error and its first line, without paths or SQL."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    first = _PATH.sub("<file>", first)[:_MESSAGE_LIMIT]
    return RuleFailure(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)


@dataclass
class ScanOutcome:
    """Per rule (in the order asked): its groups or its failure; and what the scan cost."""

    results: list[list[GroupResult] | RuleFailure]
    duration_ms: float
    data_scanned_mb: float


class DetectionEngine(Protocol):
    def scan(self, source: str, rules: Sequence[RuleScan]) -> ScanOutcome:
        """Evaluate every rule of one source over its window; one rule's failure never fails the others."""
        ...

    def visible_until(self) -> datetime:
        """The latest ingest time up to which every ingest is complete (the upper end of a run)."""
        ...

    def match_events(self, source: str, raws: Sequence[str], rule: CompiledRule) -> set[int]:
        """Positions of the events (raw JSON texts) that satisfy the rule's detection (rule tests)."""
        ...
