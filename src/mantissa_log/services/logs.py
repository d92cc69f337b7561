"""Log use cases: ingest into the lake, describe what it holds, hunt over files without it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mantissa_log.lake import LogLake, SourceInfo
from mantissa_log.lake.activity import SourceActivity, activity
from mantissa_log.lake.maintenance import MaintenanceReport
from mantissa_log.services.detection.hunt import HuntFinding, hunt
from mantissa_log.services.detection.ingest import IngestReport, check_source, ingest_bytes, ingest_path


class LogService:
    def __init__(self, lake: LogLake) -> None:
        self.lake = lake

    @staticmethod
    def check_source(source: str) -> str:
        return check_source(source)

    def new_report(self, source: str) -> IngestReport:
        return IngestReport(check_source(source))

    def ingest_bytes(self, source: str, data: bytes, *, filename: str = "") -> IngestReport:
        """An upload (API): parsed in Python."""
        return ingest_bytes(self.lake, source, data, filename=filename)

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
    def hunt(rule_paths: list[Path], event_paths: list[Path], source: str | None = None) -> list[HuntFinding]:
        if source is not None:
            check_source(source)
        return hunt(rule_paths, event_paths, source)


__all__ = ["HuntFinding", "IngestReport", "LogService", "MaintenanceReport", "SourceActivity", "SourceInfo"]
