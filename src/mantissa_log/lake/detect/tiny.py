"""What makes a hunt's input tiny: small enough for its Python passes (`text_gates`, `text_scan`).

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
# Compressed files may hold far more text than their size says: such an input is never called tiny.
_COMPRESSED = (".gz", ".gzip", ".zip", ".bz2", ".xz", ".zst")


def may_be_tiny(paths: Iterable[str]) -> bool:
    """Whether these event files and folders may hold TINY_BYTES of text or less in all: their files'
    sizes (every file under a folder, a superset of what a hunt reads) add up to no more, and none is
    compressed. False for a path that does not exist (the hunt then says so)."""
    total = 0
    folders: list[str] = []
    try:
        for path in paths:
            if os.path.isdir(path):
                folders.append(path)
                continue
            total += _file_size(path)
        while folders and total <= TINY_BYTES:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif entry.is_file():
                        total += _file_size(entry.path, entry.stat().st_size)
    except (OSError, _Compressed):
        return False
    return total <= TINY_BYTES


class _Compressed(Exception):
    pass


def _file_size(path: str, size: int | None = None) -> int:
    if path.lower().endswith(_COMPRESSED):
        raise _Compressed
    return os.stat(path).st_size if size is None else size
