"""The data home is private: directories 0700, files 0600, whatever the umask.

The home holds raw logs (lake/), every table (state.db and SQLite's -wal/-shm), rule bodies,
keys and audit checkpoints. `make_private_home` runs before anything is opened:

- the process umask becomes 077, so every file created from then on (SQLite's WAL and shared
  memory, DuckDB's Parquet files, rule bodies, backups, staging copies) is private however the
  service was started;
- the home is created 0700, or tightened to 0700 if it exists (with it, nothing below is
  reachable by other local users even if an older file kept a loose mode);
- the known entries directly under it are tightened too (files 0600, directories 0700).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
ENTRIES = ("state.db", "state.db-wal", "state.db-shm", "lake", "rules", "keys", "audit", "cache")

log = logging.getLogger("mantissa_log.home")


def make_private_home(home: Path) -> None:
    os.umask(PRIVATE_UMASK)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in (home, *(home / name for name in ENTRIES)):
        _tighten(path)


def _tighten(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        return  # not ours to change through a link
    wanted = 0o700 if stat.S_ISDIR(mode) else 0o600
    if stat.S_IMODE(mode) & 0o077 == 0:
        return
    try:
        os.chmod(path, stat.S_IMODE(mode) & wanted)
    except OSError as exc:  # e.g. owned by another user: say so, the service can still run
        log.warning("cannot make %s private (%s); other local users may read it", path, exc.strerror)
