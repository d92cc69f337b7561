"""`ingest_path` (the CLI's ingest: DuckDB reads JSON lines) reports what `ingest_bytes` reports."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from mantissa_log.lake import LogLake
from mantissa_log.services.detection.ingest import IngestReport, ingest_bytes, ingest_path


def test_reports_agree_for_json_lines_envelopes_and_other_layouts(tmp_path: Path) -> None:
    event = {"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com", "eventID": "e1"}
    lines = tmp_path / "events.jsonl"
    lines.write_text(json.dumps(event) + "\nnot json\n" + json.dumps({"eventSource": "x"}) + "\n\n")
    delivery = tmp_path / "delivery.json.gz"
    delivery.write_bytes(gzip.compress(json.dumps({"Records": [event, 3, event]}).encode()))
    array = tmp_path / "array.json"
    array.write_text(json.dumps([event, {"eventName": ""}], indent=1))
    files = [lines, delivery, array]

    by_path = IngestReport("cloudtrail")
    for path in files:
        ingest_path(LogLake(tmp_path / "a"), "cloudtrail", path, filename=path.name, report=by_path)
    by_bytes = IngestReport("cloudtrail")
    for path in files:
        ingest_bytes(LogLake(tmp_path / "b"), "cloudtrail", path.read_bytes(), filename=path.name, report=by_bytes)

    assert by_path == by_bytes
    # The same event four times over three files: stored once, three duplicates.
    assert (by_path.accepted, by_path.duplicates, by_path.rejected) == (1, 3, 4)
    assert {"file": "events.jsonl", "line": 2, "reason": by_path.reasons[0]["reason"]} == by_path.reasons[0]
    assert {k: v for k, v in by_path.reasons[2].items() if k != "reason"} == {
        "file": "delivery.json.gz",
        "line": 1,
        "index": 1,
    }
