"""Running compiled rules over events: the query interface detection uses, and its DuckDB engine.

Services plan *what* to evaluate (which rules, which windows); everything about *how* (SQL text,
connections, scans, samples) lives here. `DetectionEngine` is the interface; `DuckDbEngine` runs
over the local lake. The Athena engine of the scale-out deployment implements the same interface.
Names resolve on first use (a hunt imports `detect.hunt` without the lake's engine).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as the type checker sees them; at run time __getattr__ imports them
    from mantissa_log.lake.detect.duckdb_engine import DuckDbEngine
    from mantissa_log.lake.detect.model import (
        DetectionEngine,
        GroupResult,
        RuleFailure,
        RuleScan,
        RuleWindow,
        ScanOutcome,
        failure,
    )

_HOMES = {
    "DuckDbEngine": "mantissa_log.lake.detect.duckdb_engine",
    "DetectionEngine": "mantissa_log.lake.detect.model",
    "GroupResult": "mantissa_log.lake.detect.model",
    "RuleFailure": "mantissa_log.lake.detect.model",
    "RuleScan": "mantissa_log.lake.detect.model",
    "RuleWindow": "mantissa_log.lake.detect.model",
    "ScanOutcome": "mantissa_log.lake.detect.model",
    "failure": "mantissa_log.lake.detect.model",
}
__all__ = [
    "DetectionEngine",
    "DuckDbEngine",
    "GroupResult",
    "RuleFailure",
    "RuleScan",
    "RuleWindow",
    "ScanOutcome",
    "failure",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(home), name)
