"""Ingest reports and the lake's sources."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from mantissa_log.clock import iso
from mantissa_log.services.detection.ingest import IngestReport
from mantissa_log.services.logs import SourceInfo


class RejectionPublic(BaseModel):
    reason: str
    file: str | None = None
    line: int | None = None
    index: int | None = None


class IngestReportPublic(BaseModel):
    source: str
    accepted: int
    duplicates: int
    rejected: int
    repaired: int
    rejections: list[RejectionPublic]
    files_written: int

    @classmethod
    def of(cls, report: IngestReport) -> IngestReportPublic:
        return cls(
            source=report.source,
            accepted=report.accepted,
            duplicates=report.duplicates,
            rejected=report.rejected,
            repaired=report.repaired,
            rejections=[RejectionPublic.model_validate(r) for r in report.reasons],
            files_written=report.files,
        )


class ColumnPublic(BaseModel):
    name: str
    type: str


class TimeRange(BaseModel):
    min: str | None
    max: str | None

    @classmethod
    def of(cls, low: datetime | None, high: datetime | None) -> TimeRange:
        return cls(min=None if low is None else iso(low), max=None if high is None else iso(high))


class SourcePublic(BaseModel):
    name: str
    columns: list[ColumnPublic]
    rows: int
    files: int
    bytes: int
    event_time: TimeRange
    ingest_time: TimeRange
    quarantined: int  # unreadable files moved aside, not read by any query

    @classmethod
    def of(cls, info: SourceInfo) -> SourcePublic:
        return cls(
            name=info.name,
            columns=[ColumnPublic(name=c.name, type=c.type) for c in info.columns],
            rows=info.rows,
            files=info.files,
            bytes=info.bytes,
            event_time=TimeRange.of(info.min_event_time, info.max_event_time),
            ingest_time=TimeRange.of(info.min_ingest_time, info.max_ingest_time),
            quarantined=info.quarantined,
        )


class SourceList(BaseModel):
    items: list[SourcePublic]
