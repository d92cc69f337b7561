"""Lake test helpers: the shared corpus's CloudTrail events and a lake under tmp_path."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.lake import LogLake
from mantissa_log.lake.detect import hunt as hunt_module
from mantissa_log.sigma.compiled import CompiledRule

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


def cloudtrail_capture(path: Path, size: int, odd: str | None = None) -> Path:
    """The corpus' CloudTrail events again and again (fresh ids) up to `size` bytes, written as JSON
    lines to `path`; `odd`, when given, as the last line."""
    records = [record for record in corpus_records() if "eventSource" in record]
    lines: list[str] = []
    total = 0
    while total < size:
        record = dict(records[len(lines) % len(records)])
        record["eventID"] = str(uuid.UUID(int=len(lines)))
        lines.append(json.dumps(record))
        total += len(lines[-1]) + 1
    if odd is not None:
        lines.append(odd)
    path.write_text("\n".join(lines) + "\n")
    return path


def jsonl(records: list[Any]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


@pytest.fixture
def lake(tmp_path: Path) -> LogLake:
    return LogLake(tmp_path / "lake")


def spy_steps(monkeypatch: pytest.MonkeyPatch, module: Any, **labels: str) -> list[str]:
    """The labels of these functions of `module`, in the order they are called from now on."""
    steps: list[str] = []

    def spied(label: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            steps.append(label)
            return real(*args, **kwargs)

        return call

    for name, label in labels.items():
        monkeypatch.setattr(module, name, spied(label, getattr(module, name)))
    return steps


def planned_rules(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every rule index a hunt's scan is asked to plan, from now on."""
    planned: list[int] = []
    real = hunt_module._scan_lines

    def spy(con: Any, lines: Any, rules: list[tuple[int, CompiledRule]]) -> Any:
        planned.extend(index for index, _ in rules)
        return real(con, lines, rules)

    monkeypatch.setattr(hunt_module, "_scan_lines", spy)
    return planned
