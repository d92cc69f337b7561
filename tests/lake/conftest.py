"""Lake test helpers: the shared corpus's CloudTrail events and a lake under tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.lake import LogLake

# tests/lake/conftest.py -> parents[3] is the directory holding both the repo and shared/.
EVENTS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "events"


def corpus_files() -> list[Path]:
    files = sorted(EVENTS.glob("*.jsonl"))
    if not files:
        pytest.fail(f"corpus not found at {EVENTS} (expected ../shared/corpus beside the repo)")
    return files


def corpus_records(limit: int | None = None) -> list[dict[str, Any]]:
    records = []
    for path in corpus_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records[:limit]


def jsonl(records: list[Any]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


@pytest.fixture
def lake(tmp_path: Path) -> LogLake:
    return LogLake(tmp_path / "lake")
