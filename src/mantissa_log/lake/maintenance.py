"""Keeping the lake healthy: orphans of killed ingests, small-file compaction, unreadable files.

- **Orphans.** Ingests write under hidden temporary names carrying their process id
  (`.<name>.<pid>.tmp`), stage inputs under `_staging/native-<pid>-<uuid>`; an entry whose
  process is gone (this host) is removed. Entries without a readable pid are removed once older
  than `ORPHAN_AGE`.
- **Compaction.** A partition whose hour ended at least `COMPACT_SETTLE` ago and holds more than
  `COMPACT_MIN_FILES` event files is rewritten as one file. Rows keep their ingest times, so no
  window changes what it covers and no watermark moves. The compacted file is published with a
  sidecar naming what it replaces (see `partitions`); the replaced files are deleted by a later
  pass, after `RETIRE_GRACE`, so a reader that listed them just before still reads them.
- **Unreadable files.** `quarantine_unreadable` reads every file of a window in full; a file
  DuckDB cannot read is moved aside to `_quarantine/` (an atomic rename), so one corrupt file
  never stops detection over the rest.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake import partitions, sql
from mantissa_log.lake.inflight import process_alive

log = logging.getLogger("mantissa_log.lake")
ORPHAN_AGE = timedelta(hours=1)
COMPACT_MIN_FILES = 8
COMPACT_SETTLE = timedelta(minutes=10)
RETIRE_GRACE = timedelta(minutes=10)
QUARANTINE = "_quarantine"


@dataclass
class MaintenanceReport:
    orphans_removed: int = 0
    partitions_compacted: int = 0
    files_retired: int = 0


def _pid_of(name: str) -> int | None:
    """The process id in `.<name>.<pid>.tmp` or `native-<pid>-<uuid>`, if there is one."""
    if name.endswith(".tmp"):
        candidate = name.removesuffix(".tmp").rsplit(".", 1)[-1]
    elif name.startswith("native-"):
        candidate = name.split("-")[1]
    else:
        return None
    return int(candidate) if candidate.isdigit() else None


def _orphaned(path: Path, now: float) -> bool:
    pid = _pid_of(path.name)
    if pid is not None:
        return not process_alive(pid)
    try:
        return now - path.lstat().st_mtime > ORPHAN_AGE.total_seconds()
    except FileNotFoundError:
        return False


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_orphans(root: Path) -> int:
    """Remove what killed ingests left behind (temporary files, staging folders); returns how many."""
    now = time.time()
    candidates: list[Path] = []
    staging = root / "_staging"
    if staging.is_dir():
        candidates += [Path(entry.path) for entry in os.scandir(staging)]
    for folder in (root / "_ids").glob("source=*"):
        candidates += [path for path in folder.iterdir() if path.name.endswith(".tmp")]
    for source in SOURCES:
        for _, hour_path in partitions.hours(root, source):
            candidates += [Path(entry.path) for entry in os.scandir(hour_path) if entry.name.endswith(".tmp")]
    removed = 0
    for path in candidates:
        if _orphaned(path, now):
            _remove(path)
            removed += 1
    if removed:
        log.info("removed %d files left by interrupted ingests", removed)
    return removed


def compact(root: Path, now: datetime, *, min_files: int = COMPACT_MIN_FILES) -> int:
    """Rewrite each settled partition with many small files as one file; returns how many partitions."""
    done = 0
    for source, spec in SOURCES.items():
        for start, hour_path in partitions.hours(root, source):
            if start + timedelta(hours=1) + COMPACT_SETTLE > now:
                continue
            files = partitions.event_files(hour_path)
            if len(files) <= min_files:
                continue
            final = hour_path / f"part-compacted-{uuid.uuid4().hex}.parquet"
            temporary = hour_path / f".{final.name}.{os.getpid()}.tmp"
            with duckdb.connect(":memory:") as connection:
                select = sql.relation(spec, files)
                connection.execute(
                    f"COPY ({select} ORDER BY ingest_time) TO {sql.quote_literal(str(temporary))} "
                    f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL {sql.NATIVE_ZSTD_LEVEL})"
                )
            # The sidecar first: once the compacted file is visible, readers skip what it replaces.
            sidecar = final.with_name(final.name + partitions.SIDECAR)
            sidecar.write_text(json.dumps([path.name for path in files]))
            os.replace(temporary, final)
            done += 1
            log.info("compacted %d files of %s into one", len(files), hour_path.relative_to(root))
    return done


def retire_replaced(root: Path, *, grace: timedelta = RETIRE_GRACE) -> int:
    """Delete files replaced by a compaction more than `grace` ago; returns how many."""
    now = time.time()
    retired = 0
    for source in SOURCES:
        for _, hour_path in partitions.hours(root, source):
            for sidecar in hour_path.glob(f"*{partitions.SIDECAR}"):
                compacted = sidecar.with_name(sidecar.name.removesuffix(partitions.SIDECAR))
                if not compacted.exists():
                    sidecar.unlink(missing_ok=True)  # a compaction that died before publishing
                    continue
                if now - compacted.stat().st_mtime < grace.total_seconds():
                    continue
                for name in partitions.replaced_by(sidecar):
                    with contextlib.suppress(FileNotFoundError):
                        (hour_path / name).unlink()
                        retired += 1
                sidecar.unlink(missing_ok=True)
    return retired


def readable(connection: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Whether DuckDB can read every column of every row of the file."""
    try:
        connection.execute(
            "SELECT count(raw), count(event_id), max(ingest_time), max(length(raw)) "  # noqa: S608
            f"FROM read_parquet({sql.quote_literal(str(path))})"
        ).fetchall()
    except duckdb.Error:
        return False
    return True


def quarantine_unreadable(root: Path, files: list[Path]) -> list[Path]:
    """Move each file DuckDB cannot read to `_quarantine/` (same relative path); returns them."""
    moved: list[Path] = []
    with duckdb.connect(":memory:") as connection:
        for path in files:
            if not path.exists() or readable(connection, path):
                continue
            target = root / QUARANTINE / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            moved.append(target)
            log.warning("quarantined an unreadable lake file: %s", target.relative_to(root))
    return moved


def quarantined(root: Path, source: str) -> int:
    folder = root / QUARANTINE / f"source={source}"
    return sum(1 for _ in folder.rglob("*.parquet")) if folder.is_dir() else 0
