"""Listing a source's partitions and the event files in them.

`source=<s>/date=YYYY-MM-DD/hour=HH/` holds published event files (`part-*.parquet`), hidden
temporary entries of ingests in progress (`.*.tmp`), and, after a compaction, one compacted file
with a sidecar `<compacted>.replaces` naming the files it replaces. A listing never returns a
replaced file once its compacted file is visible, so a reader sees either the small files or
the compacted one, never both (the replaced files are deleted later, after a grace period, so a
reader that listed them just before keeps them readable).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
SIDECAR = ".replaces"


def hours(root: Path, source: str) -> Iterator[tuple[datetime, Path]]:
    """(start of the hour, its folder) of every partition of a source."""
    for day, day_path in _children(root / f"source={source}", "date", date.fromisoformat):
        for hour, hour_path in _children(day_path, "hour", int):
            yield datetime(day.year, day.month, day.day, hour, tzinfo=UTC), hour_path


def event_files(hour_path: Path) -> list[Path]:
    """The published event files of one partition, replaced ones left out."""
    try:
        entries = list(os.scandir(hour_path))
    except FileNotFoundError:
        return []
    names = {entry.name for entry in entries if not entry.name.startswith(".") and entry.is_file()}
    replaced: set[str] = set()
    for name in names:
        if name.endswith(SIDECAR) and name.removesuffix(SIDECAR) in names:
            replaced.update(replaced_by(hour_path / name))
    return sorted(hour_path / name for name in names if name.endswith(".parquet") and name not in replaced)


def replaced_by(sidecar: Path) -> list[str]:
    try:
        value = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return []
    return [str(name) for name in value] if isinstance(value, list) else []


def _children(parent: Path, key: str, convert: Callable[[str], T]) -> list[tuple[T, Path]]:
    """Partition directories `key=value` under `parent` with their converted values (others skipped)."""
    try:
        entries = list(os.scandir(parent))
    except FileNotFoundError:
        return []
    children = []
    prefix = f"{key}="
    for entry in entries:
        if entry.name.startswith(prefix) and entry.is_dir():
            try:
                children.append((convert(entry.name[len(prefix) :]), Path(entry.path)))
            except ValueError:
                continue
    return children
