"""Log use cases: ingest into the lake, describe what it holds, hunt over files without it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from mantissa_log.clock import SYSTEM_CLOCK, Clock
from mantissa_log.errors import StorageFull, is_no_room
from mantissa_log.lake import LogLake, SourceInfo
from mantissa_log.lake.activity import SourceActivity, activity
from mantissa_log.lake.maintenance import MaintenanceReport
from mantissa_log.services.detection.hunt import HuntFinding, hunt
from mantissa_log.services.detection.ingest import IngestReport, check_source, ingest_bytes, ingest_path

# Uploads left behind by a process that died mid-request are removed after this.
STALE_UPLOAD_SECONDS = 86_400


@contextmanager
def _no_room_is_storage_full() -> Iterator[None]:
    # Uploads are staged beside the lake (the data home), so a full disk here is the lake's.
    try:
        yield
    except OSError as exc:
        if is_no_room(exc):
            raise StorageFull("the log lake's disk is full") from exc
        raise


class Upload:
    """An uploaded body on its way in: written to a private file, never held in memory whole."""

    def __init__(self, directory: Path) -> None:
        fd, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".part")  # mode 0600
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self.size = 0

    def write(self, chunk: bytes) -> None:
        with _no_room_is_storage_full():
            self._file.write(chunk)
        self.size += len(chunk)

    def finish(self) -> bytes:
        with _no_room_is_storage_full():
            self._file.close()
        return self.path.read_bytes()

    def discard(self) -> None:
        with suppress(OSError):  # flushing the rest failed (a full disk): the file goes anyway
            self._file.close()
        self.path.unlink(missing_ok=True)


class LogService:
    def __init__(self, lake: LogLake, upload_dir: Path | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.lake = lake
        self.upload_dir = upload_dir or lake.root.parent / "uploads"
        self.clock = clock

    @staticmethod
    def check_source(source: str) -> str:
        return check_source(source)

    def new_report(self, source: str) -> IngestReport:
        return IngestReport(check_source(source))

    def ingest_bytes(self, source: str, data: bytes, *, filename: str = "") -> IngestReport:
        """An upload (API): parsed in Python."""
        return ingest_bytes(self.lake, source, data, filename=filename)

    @contextmanager
    def upload(self) -> Iterator[Upload]:
        """A private file (0600 in a 0700 directory) for a body being received; removed afterwards.

        The HTTP edge streams an ingest body here, so a body refused at the size limit has cost
        disk, not memory.
        """
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.upload_dir, 0o700)  # whatever the umask
        self._remove_stale_uploads()
        upload = Upload(self.upload_dir)
        try:
            yield upload
        finally:
            upload.discard()

    def ingest_upload(self, source: str, upload: Upload) -> IngestReport:
        """A received upload, read as `ingest_bytes` reads it (same answers as before spooling)."""
        return ingest_bytes(self.lake, source, upload.finish())

    def ingest_file(self, report: IngestReport, path: Path) -> IngestReport:
        """A file on disk (CLI), added to `report`: JSON lines are read by DuckDB itself."""
        return ingest_path(self.lake, report.source, path, report=report)

    def sources(self) -> list[SourceInfo]:
        return self.lake.sources()

    def activity(self, since: datetime, until: datetime, bucket_seconds: int) -> list[SourceActivity]:
        """Each source that holds events: events per bucket of event time, newest event and ingest."""
        return activity(self.lake, since, until, bucket_seconds)

    def maintain(self) -> MaintenanceReport:
        """Housekeeping: files left by killed ingests, compaction of small files."""
        return self.lake.maintain()

    @staticmethod
    def hunt(
        rule_paths: list[Path], event_paths: list[Path], source: str | None = None, cache_folder: Path | None = None
    ) -> list[HuntFinding]:
        """Rules over files, no lake: see `services.detection.hunt` (compiled rules cached in `cache_folder`)."""
        if source is not None:
            check_source(source)
        return hunt(rule_paths, event_paths, source, cache_folder)

    def _remove_stale_uploads(self) -> None:
        cutoff = self.clock.now().timestamp() - STALE_UPLOAD_SECONDS
        for leftover in self.upload_dir.glob("upload-*.part"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except FileNotFoundError:
                pass


__all__ = [
    "HuntFinding",
    "IngestReport",
    "LogService",
    "MaintenanceReport",
    "SourceActivity",
    "SourceInfo",
    "Upload",
]
