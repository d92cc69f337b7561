"""The Parquet files one ingest call writes: temporary names until every file is complete, then
fsynced and renamed into place together (`publish`), or removed (`discard`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path

import duckdb

from mantissa_log.lake.model import Rejection
from mantissa_log.lake.results import IngestResult


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IngestFiles:
    """The Parquet files one ingest call writes (see `LogLake._files`)."""

    def __init__(self, source: str, stamp: datetime, directory: Path, connection: duckdb.DuckDBPyConnection) -> None:
        self.source = source
        self.stamp = stamp
        self.directory = directory
        self.connection = connection
        self.name = f"part-{stamp:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex}"
        self.written: list[tuple[Path, Path]] = []  # (temporary, final)
        self.folders: list[Path] = []  # temporary directories of multi-file COPYs
        self.rows = 0
        self.duplicates = 0

    def target(self) -> Path:
        """A temporary path for the next file (renamed to its final name by `publish`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{self.name}-{len(self.written)}.parquet"
        temporary = self.directory / f".{final.name}.{os.getpid()}.tmp"
        self.written.append((temporary, final))
        return temporary

    def folder(self) -> Path:
        """A hidden temporary directory for a COPY that writes several files (see `adopt`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        folder = self.directory / f".{self.name}-{len(self.folders)}.{os.getpid()}.tmp"
        self.folders.append(folder)
        return folder

    def adopt(self, folder: Path) -> None:
        """Take the files a COPY wrote into `folder` (named `data_<i>.parquet`), in order."""
        produced = sorted(folder.glob("data_*.parquet"), key=lambda path: int(path.stem.rpartition("_")[2]))
        for path in produced:
            final = self.directory / f"{self.name}-{len(self.written)}.parquet"
            self.written.append((path, final))

    def publish(self) -> None:
        for temporary, _ in self.written:
            _fsync(temporary)
        for temporary, final in self.written:
            os.replace(temporary, final)
        if self.written:
            _fsync(self.directory, directory=True)
        for folder in self.folders:
            with contextlib.suppress(OSError):
                folder.rmdir()

    def discard(self) -> None:
        for temporary, _ in self.written:
            with contextlib.suppress(OSError):
                temporary.unlink()
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)

    def result(
        self,
        started: float,
        *,
        rejected: tuple[Rejection, ...] = (),
        repaired: int = 0,
        native: bool = False,
        rejected_total: int | None = None,
    ) -> IngestResult:
        files = tuple(final for _, final in self.written)
        return IngestResult(
            source=self.source,
            ingest_time=self.stamp,
            rows=self.rows,
            files=files,
            bytes_written=sum(path.stat().st_size for path in files),
            seconds=time.perf_counter() - started,
            rejected=rejected,
            repaired=repaired,
            native=native,
            duplicates=self.duplicates,
            rejected_total=len(rejected) if rejected_total is None else rejected_total,
        )
