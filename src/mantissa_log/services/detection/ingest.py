"""Ingest use case: parse a payload for a source, keep the good records, report the bad ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.errors import ValidationFailed
from mantissa_log.lake import LogLake, parse

MAX_REASONS = 100  # a payload of a million bad lines should not produce a million-line answer


@dataclass
class IngestReport:
    source: str
    accepted: int = 0
    rejected: int = 0
    repaired: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "repaired": self.repaired,
            "rejections": self.reasons,
            "files_written": self.files,
        }


def check_source(source: str) -> str:
    if source not in SOURCE_NAMES:
        raise ValidationFailed(f"unknown source; use one of {', '.join(SOURCE_NAMES)}", field="source")
    return source


def ingest_bytes(
    lake: LogLake, source: str, data: bytes, *, filename: str = "", report: IngestReport | None = None
) -> IngestReport:
    report = report or IngestReport(check_source(source))
    parsed = parse(source, data, filename=filename)
    stored = lake.ingest(source, parsed) if parsed.events else None
    report.accepted += parsed.accepted
    report.rejected += len(parsed.rejected)
    report.repaired += parsed.repaired
    report.files += len(stored.files) if stored else 0
    for rejection in parsed.rejected[: max(0, MAX_REASONS - len(report.reasons))]:
        entry: dict[str, Any] = {"reason": rejection.reason}
        if filename:
            entry["file"] = filename
        if rejection.line is not None:
            entry["line"] = rejection.line
        if rejection.index is not None:
            entry["index"] = rejection.index
        report.reasons.append(entry)
    return report
