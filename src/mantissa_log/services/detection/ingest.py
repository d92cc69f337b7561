"""Ingest use case: parse a payload for a source, keep the good records, report the bad ones.

`ingest_path` (files on disk, the CLI) lets DuckDB read JSON lines itself (`LogLake.ingest_file`);
`ingest_bytes` (uploads, the API) parses in Python. Both report the same accepted, rejected (with
line and reason) and repaired counts for the same input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.errors import ValidationFailed
from mantissa_log.lake import IngestResult, LogLake, Rejection

MAX_REASONS = 100  # a payload of a million bad lines should not produce a million-line answer


@dataclass
class IngestReport:
    source: str
    accepted: int = 0  # stored
    duplicates: int = 0  # already stored within the dedup horizon, or repeated in the input: not stored
    rejected: int = 0
    repaired: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0  # Parquet files written


def check_source(source: str) -> str:
    if source not in SOURCE_NAMES:
        raise ValidationFailed(f"unknown source; use one of {', '.join(SOURCE_NAMES)}", field="source")
    return source


def ingest_bytes(
    lake: LogLake, source: str, data: bytes, *, filename: str = "", report: IngestReport | None = None
) -> IngestReport:
    report = report or IngestReport(check_source(source))
    # Parsed and stored in chunks as it is read: the lake's caps (decompressed size, line and event
    # size) refuse what is over them by line, and the good lines around them are kept.
    stored = lake.ingest_bytes(source, data, filename=filename)
    _add_stored(report, stored, filename)
    return report


def ingest_path(
    lake: LogLake, source: str, path: Path, *, filename: str | None = None, report: IngestReport | None = None
) -> IngestReport:
    """Ingest a file (gzipped or not): JSON lines are read by DuckDB, anything else by the parsers."""
    report = report or IngestReport(check_source(source))
    stored = lake.ingest_file(check_source(source), Path(path))
    _add_stored(report, stored, str(path) if filename is None else filename)
    return report


def _add_stored(report: IngestReport, stored: IngestResult, filename: str) -> None:
    report.accepted += stored.rows
    report.duplicates += stored.duplicates
    report.rejected += len(stored.rejected) if stored.rejected_total is None else stored.rejected_total
    report.repaired += stored.repaired
    report.files += len(stored.files)
    _add_reasons(report, stored.rejected, filename)


def _add_reasons(report: IngestReport, rejected: Sequence[Rejection], filename: str) -> None:
    for rejection in rejected[: max(0, MAX_REASONS - len(report.reasons))]:
        entry: dict[str, Any] = {"reason": rejection.reason}
        if filename:
            entry["file"] = filename
        if rejection.line is not None:
            entry["line"] = rejection.line
        if rejection.index is not None:
            entry["index"] = rejection.index
        report.reasons.append(entry)
