"""What makes a hunt's input small enough for its Python passes (`text_gates`, `text_scan`): tiny, or
small enough to find the lines its rules may match (`text_lines`).

Kept apart, importing nothing but `os`, so that the `hunt` command can decide before anything else
whether to start its DuckDB database at once (`services.detection.hunt_database`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

# Up to this much text in all (~750-1,000 CloudTrail events) a hunt reads the events in Python and
# answers its rules there (`text_scan`) without starting DuckDB. Measured as whole processes, 57 AWS
# rules (2026-12-04): 728 corpus events (1 MB) 154 -> 128 ms; 2,000 lab events (2.7 MB) 179 -> 205 ms,
# where parsing in Python (~20 ms a MB) outgrows DuckDB's start.
TINY_BYTES = 1 << 20
# Up to ROUTED_BYTES of text in all, the lines some rule may match are found without reading the
# others (`text_lines`, 6-17 ms a MB): when they come to ROUTED_READ_BYTES or less, only those are read
# and hunted in Python, as a tiny input's events; else DuckDB scans only those, planning only the rules
# the routing found may hold (no gate pass of its own). Up to ROUTED_BYTES the database is not started
# before the hunt knows it needs it: routing while it is set up took twice as long (a 6.7 MB input:
# 39 -> 66 ms), which made routing bigger inputs a loss. Measured as whole processes, 57 AWS rules
# (2026-12-04, alternated with the commit before, trimmed means): lab-like captures (a third to two
# fifths of the lines kept) 2,000 events (2.7 MB) 147 -> 105 ms, 3,300 (4.4 MB) 161 -> 150, 4,400
# (5.9 MB) 146 -> 144, 5,000 (6.7 MB) 156 -> 157; a generated wide capture (2.7 MB, a sixth kept)
# 134 -> 120; where nearly every line is kept, DuckDB starts late: 3 MB of such lines 131 -> 135,
# 5 MB 144 -> 178 ms. (With 6 MiB and 2 MiB as the limits: 4,400 events 146 -> 166.)
ROUTED_BYTES = 8 << 20
ROUTED_READ_BYTES = 3 << 20
# Routed a piece of this size at a time: once the first pieces promise too many lines, the database is
# started while the rest is routed.
ROUTED_PIECE = 256 << 10
# Over this much text in all (and up to ROUTED_BYTES), the routing, reading and counting are shared with
# a helper process on the other core (`helper`, `text_halves`). Below, one core alone is as fast: the
# fork costs the command ~2 ms and its own imports 5-8 ms more (pages copied on write), and a half of
# 1-3 MB saves little more (2,000 lab events, 2.7 MB: the Python passes 47 -> 40 ms). Measured as
# whole processes (2026-12-04): 3,300 lab events (4.4 MB) ~120 -> 98-118 ms, 5,000 (6.7 MB) 150-164 ->
# 119-139 ms (the two halves run ~1.4 times slower each than one alone on this shared machine).
HELPED_BYTES = 3 << 20
# Compressed files may hold far more text than their size says: such an input always starts the database.
_COMPRESSED = (".gz", ".gzip", ".zip", ".bz2", ".xz", ".zst")


def may_need_no_database(paths: Iterable[str]) -> bool:
    """Whether these event files and folders may hold ROUTED_BYTES of text or less in all (then
    the hunt may answer in Python): see `events_size`."""
    return events_size(paths) is not None


def events_size(paths: Iterable[str]) -> int | None:
    """The size of these event files and folders' files in all (every file under a folder: a superset
    of what a hunt reads), when it is ROUTED_BYTES or less and none is compressed; else None (also for a
    path that does not exist: the hunt then says so)."""
    total = 0
    folders: list[str] = []
    try:
        for path in paths:
            if os.path.isdir(path):
                folders.append(path)
                continue
            total += _file_size(path)
        while folders and total <= ROUTED_BYTES:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif entry.is_file():
                        total += _file_size(entry.path, entry.stat().st_size)
    except (OSError, _Compressed):
        return None
    return total if total <= ROUTED_BYTES else None


class _Compressed(Exception):
    pass


def _file_size(path: str, size: int | None = None) -> int:
    if path.lower().endswith(_COMPRESSED):
        raise _Compressed
    return os.stat(path).st_size if size is None else size
