"""What a small hunt loads: its start is a product goal (`make bench-hunt` on small captures), so the
modules it does not need are kept off its path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mantissa_log.lake.detect.hunt_inputs import SMALL_FILE_BYTES
from mantissa_log.lake.detect.tiny import ROUTED_BYTES
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
paths = sorted(Path(events).glob("*.jsonl")) if Path(events).is_dir() else [Path(events)]
findings = hunt([Path(rules)], paths, cache_folder=Path(cache))
print(json.dumps({"findings": [f.matches for f in findings if f.error is None],
                  "errors": [f.error for f in findings if f.error is not None],
                  "loaded": [m for m in watched if m in sys.modules]}))
"""


def test_a_small_hunt_hands_its_lines_over_without_dragging_in_type_modules(tmp_path: Path) -> None:
    # Small files (their text handed over) above `tiny.ROUTED_BYTES` in all, so that DuckDB scans them:
    # a smaller input is counted in Python.
    events = tmp_path / "trail"
    events.mkdir()
    records = corpus_records()
    half = "".join(json.dumps(record) + "\n" for record in records[: len(records) // 2])
    for number in range(ROUTED_BYTES // len(half) + 1):
        (events / f"{number:02d}.jsonl").write_text(half)
    assert len(half) <= SMALL_FILE_BYTES
    assert sum(path.stat().st_size for path in events.iterdir()) > ROUTED_BYTES
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


# What the command's own path (argument parsing, the compiled-rule cache's keys, the records it builds)
# must not load: `hashlib` loads OpenSSL (`_hashlib`, ~4 ms), argparse's formatter imports `shutil` (with
# bz2 and lzma, ~3 ms) only to learn the terminal's width, and `dataclasses` imports `inspect` (~12 ms)
# and builds each class with several `exec`s (~1 ms a class).
COMMAND_MODULES = ("_hashlib", "shutil", "dataclasses", "inspect")

_COMMAND_PROBE = """
import io, json, sys
from mantissa_log.cli.hunt import run_hunt
rules, events, *watched = sys.argv[1:]
out, sys.stdout = sys.stdout, io.StringIO()
code = run_hunt(["--rules", rules, "--events", events, "--format", "json"])
printed, sys.stdout = sys.stdout.getvalue(), out
print(json.dumps({"code": code, "lines": printed.splitlines(), "loaded": [m for m in watched if m in sys.modules]}))
"""


def test_the_hunt_command_finds_its_rules_in_the_cache_without_openssl_shutil_or_dataclasses(tmp_path: Path) -> None:
    events = tmp_path / "trail.jsonl"
    events.write_text("".join(json.dumps(record) + "\n" for record in corpus_records(300)))
    rule = next(path for path in AWS if path.stem == "aws_sts_assumerole_misuse")
    command = [sys.executable, "-c", _COMMAND_PROBE, str(rule), str(events), *COMMAND_MODULES]
    environment = {"MANTISSA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    subprocess.run(command, capture_output=True, check=True, timeout=120, env=environment)  # compiles, caches
    probe = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120, env=environment)
    outcome = json.loads(probe.stdout)
    assert outcome["code"] == 0
    findings = [json.loads(line) for line in outcome["lines"]]
    assert findings
    assert all(finding["matches"] > 0 for finding in findings)
    assert outcome["loaded"] == []


def _help(columns: str) -> list[str]:
    probe = "import sys; from mantissa_log.cli.hunt import run_hunt; run_hunt(['--help'])"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env={"COLUMNS": columns}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_hunt_help_is_wrapped_at_the_terminal_width_as_columns_says() -> None:
    narrow, wide = _help("50"), _help("200")
    description = "Scan log files with Sigma rules directly, no server or lake needed (incident response)."
    assert description in wide  # one line at 200 columns
    assert description not in narrow
    # At 50 columns argparse wraps its text at 48 (option names and the list of sources cannot break).
    start = narrow.index("") + 1
    wrapped = narrow[start : narrow.index("", start)]
    assert " ".join(wrapped) == description
    assert len(wrapped) > 1
    assert all(len(line) <= 48 for line in wrapped)
