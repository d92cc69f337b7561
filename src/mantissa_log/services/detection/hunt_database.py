"""A hunt's first step, for the command to take before it imports the rest of the hunt.

The hunt's in-memory DuckDB database is set up on a thread (C++ that releases the interpreter lock)
while `mantissa-log hunt` imports the sources, parsers and rules it needs: both run at once. This
module imports nothing else, so that starting costs only the engine's own import.
"""

from __future__ import annotations

from mantissa_log.lake.detect.pending import PendingDatabase

__all__ = ["PendingDatabase", "start_hunt_database"]


def start_hunt_database() -> PendingDatabase:
    """Start setting up a hunt's database; give it to `hunt` (and `settle` it if the hunt never runs)."""
    return PendingDatabase()
