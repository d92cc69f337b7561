"""Running compiled rules over events: the query interface detection uses, and its DuckDB engine.

Services plan *what* to evaluate (which rules, which windows); everything about *how* (SQL text,
connections, scans, samples) lives here. `DetectionEngine` is the interface; `DuckDbEngine` runs
over the local lake. The Athena engine of the scale-out deployment implements the same interface.
"""

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
