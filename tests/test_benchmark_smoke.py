"""The detection benchmark runs end to end on a small N: both engines, the comparison, the ratio line."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _detection_benchmark(**settings: str) -> str:
    """`make bench`'s script with these environment settings; its output (it must succeed)."""
    env = {**os.environ, **settings, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_detection"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_benchmark_runs_and_reports_identical_matches() -> None:
    output = _detection_benchmark(BENCH_EVENTS="2000")
    lines = output.strip().splitlines()
    assert re.fullmatch(r"ratio: \d+\.\d", lines[-1]), lines[-1]
    identical = next(line for line in lines if line.startswith("identical: "))
    assert identical.startswith("identical: yes ("), identical
    compared = re.search(r"(\d+) of (\d+) rules compared agree", identical)
    assert compared is not None
    assert compared.group(1) == compared.group(2)
    assert int(compared.group(2)) >= 50  # at most a few rules are excluded as known baseline limitations
    assert "2,000 events" in lines[0]
    matching = re.search(r"events matching any rule \(ours\): ([\d,]+)", output)
    assert matching is not None
    assert int(matching.group(1).replace(",", "")) > 0
    assert re.search(r"total [\d.]+ s = [\d,]+ events/s; peak memory [\d,]+ MB", output)


def test_the_lab_capture_resamples_real_events_with_fresh_ids(tmp_path: Path) -> None:
    from benchmarks.lab_capture import lab_events, write_lab_capture

    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert write_lab_capture(first, 500) == write_lab_capture(second, 500)
    assert first.read_bytes() == second.read_bytes()  # seeded: the same capture every run
    events = [json.loads(line) for line in first.read_text().splitlines()]
    assert len({event["eventID"] for event in events}) == 500
    shapes = {(e["eventSource"], e["eventName"]) for e in lab_events()}
    assert {(e["eventSource"], e["eventName"]) for e in events} <= shapes


def test_benchmark_takes_a_capture_of_deliveries_and_lines(tmp_path: Path) -> None:
    # A capture as CloudTrail leaves it: gzipped `{"Records": [...]}` deliveries beside JSON lines,
    # one event delivered twice, one line that is not JSON.
    corpus = ROOT.parent / "shared" / "corpus" / "events"
    events = [json.loads(line) for path in sorted(corpus.glob("stratus__*.jsonl"))[:12] for line in path.open()]
    capture = tmp_path / "capture"
    (capture / "2026" / "12").mkdir(parents=True)
    half = len(events) // 2
    delivery = json.dumps({"Records": events[:half]}).encode()
    (capture / "2026" / "12" / "delivery.json.gz").write_bytes(gzip.compress(delivery))
    lines = [json.dumps(event) for event in events[half:]] + [json.dumps(events[0]), "not json"]
    (capture / "lines.jsonl").write_text("\n".join(lines) + "\n")
    output = _detection_benchmark(BENCH_CAPTURE=str(capture))
    assert "capture: 1 lines or records refused by the CloudTrail parser" in output
    assert f"benchmark: {len(events) + 1:,} events" in output
    assert "1 repeated event ids stored once" in output
    assert next(line for line in output.splitlines() if line.startswith("identical: ")).startswith("identical: yes")
    matching = re.search(r"events matching any rule \(ours\): ([\d,]+)", output)
    assert matching is not None
    assert int(matching.group(1).replace(",", "")) > 0
    assert re.fullmatch(r"ratio: \d+\.\d", output.strip().splitlines()[-1])
