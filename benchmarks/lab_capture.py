"""A lab-like CloudTrail capture: the corpus' real attack-lab events, resampled.

The generated file of `cloudtrail_gen` is deliberately wide (334 event shapes, 1 % of events
matching a rule): hard on Zircolite, whose cost grows with the number of distinct columns. A
capture from one lab or one incident is narrow and repetitive, which is Zircolite's best case and
so the honest one for a ratio. This file draws events uniformly from the corpus' Stratus Red Team
and OTRF captures (real CloudTrail of attack detonations) with fresh `eventID`s and times over a
month, so no two events are duplicates (read at run time from ../shared/corpus, never copied).
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from benchmarks.cloudtrail_gen import CORPUS, SEED

LAB_FILES = ("stratus__*.jsonl", "otrf__*.jsonl")


def lab_events(corpus: Path = CORPUS) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for pattern in LAB_FILES:
        for path in sorted((corpus / "events").glob(pattern)):
            events += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return events


def write_lab_capture(target: Path, count: int, corpus: Path = CORPUS) -> int:
    """Write `count` events as JSON lines; returns the size in bytes."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible sample, not a secret
    templates = lab_events(corpus)
    with target.open("w", encoding="utf-8") as out:
        for _ in range(count):
            event = dict(rng.choice(templates))
            event["eventID"] = str(uuid.UUID(int=rng.getrandbits(128)))
            event["eventTime"] = (
                f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                f"{rng.randint(0, 59):02d}Z"
            )
            out.write(json.dumps(event) + "\n")
    return target.stat().st_size
