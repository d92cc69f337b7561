"""What a small hunt loads: its start is a product goal (`make bench-hunt` on small captures), so the
modules it does not need are kept off its path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.lake.conftest import corpus_records
from tests.lake.test_hunt import AWS

# DuckDB imports these when it converts a list parameter, to tell its elements' types apart (~10 ms of a
# ~150 ms hunt). A hunt hands small files' text over as plain strings instead.
TYPE_MODULES = ("decimal", "uuid", "platform")

_PROBE = """
import json, sys
from pathlib import Path
from mantissa_log.services.detection.hunt import hunt
rules, events, cache, *watched = sys.argv[1:]
findings = hunt([Path(rules)], [Path(events)], cache_folder=Path(cache))
print(json.dumps({"findings": [f.matches for f in findings if f.error is None],
                  "errors": [f.error for f in findings if f.error is not None],
                  "loaded": [m for m in watched if m in sys.modules]}))
"""


def test_a_small_hunt_hands_its_lines_over_without_dragging_in_type_modules(tmp_path: Path) -> None:
    events = tmp_path / "trail.jsonl"
    events.write_text("".join(json.dumps(record) + "\n" for record in corpus_records(300)))
    rule = next(path for path in AWS if path.stem == "aws_sts_assumerole_misuse")
    command = [sys.executable, "-c", _PROBE, str(rule), str(events), str(tmp_path / "cache"), *TYPE_MODULES]
    # The first run compiles the rule (pySigma loads what it likes) into the compiled-rule cache; the
    # second reads it from there, as a hunt usually does.
    subprocess.run(command, capture_output=True, check=True, timeout=120)
    probe = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    outcome = json.loads(probe.stdout)
    assert outcome["errors"] == []
    assert outcome["findings"]  # the lines were read: the rule matched some
    assert all(matches > 0 for matches in outcome["findings"])
    assert outcome["loaded"] == []
