"""A small hunt plans only the rules its events can match (their gates hold), and finds what a hunt
planning every rule finds."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.lake.detect import hunt as hunt_module
from mantissa_log.lake.detect import hunt_lines
from mantissa_log.lake.detect.hunt import HuntMatch, hunt_files
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.sigma import compile_sigma
from mantissa_log.sigma.compiled import CompiledRule, RuleCompileError
from tests.lake.conftest import corpus_files, corpus_records, planned_rules, spy_steps
from tests.lake.test_hunt import AWS, RULES, oracle
from tests.lake.test_text_lines import hunt_checked
from tests.samples import sample_records

SAMPLED = (
    "azure_activity",
    "azure_audit",
    "azure_pim",
    "azure_riskdetection",
    "azure_signin",
    "google_workspace",
    "guardduty",
    "kubernetes",
    "m365",
)


@pytest.fixture(scope="module")
def aws_rules() -> list[CompiledRule]:
    return [rule for path in AWS for rule in compile_sigma(path.read_text())]


@pytest.fixture(autouse=True, params=["handed over", "read whole by DuckDB", "read by DuckDB's CSV reader"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate pass reads the lines as the scan does, whichever way they reach DuckDB."""
    if request.param != "handed over":
        monkeypatch.setattr(hunt_lines, "HANDED_BYTES", 0)
    if request.param == "read by DuckDB's CSV reader":
        monkeypatch.setattr(hunt_lines, "SMALL_FILE_BYTES", 0)


def _no_python_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny inputs scanned by DuckDB too (`text_scan` answers them otherwise, planning nothing)."""
    monkeypatch.setattr(hunt_module, "text_counts", lambda *_: None)


def _every_rule_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hunt_module, "_passing_gates", lambda con, source, lines, rules: rules)


def _counts(found: list[HuntMatch]) -> dict[tuple[int, str], int]:
    return {(match.rule_index, match.events_file.name): match.matches for match in found}


def _tiny_capture(folder: Path) -> Path:
    """40 STS and S3 events of the corpus: a few rules' gates hold for them."""
    records = [r for r in corpus_records() if r.get("eventSource") in ("sts.amazonaws.com", "s3.amazonaws.com")][:40]
    capture = folder / "tiny.jsonl"
    capture.write_text("".join(json.dumps(record) + "\n" for record in records))
    return capture


def test_a_tiny_capture_plans_only_the_rules_its_events_can_match(
    tmp_path: Path, aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _tiny_capture(tmp_path)
    _no_python_scan(monkeypatch)
    planned = planned_rules(monkeypatch)
    gated = hunt_files(aws_rules, [capture])
    assert gated  # something matched
    assert 0 < len(planned) < len(aws_rules) // 2
    _every_rule_planned(monkeypatch)
    planned.clear()
    assert _counts(hunt_files(aws_rules, [capture])) == _counts(gated)
    assert len(planned) == len(aws_rules)
    assert {m.rule_index: m.matches for m in gated} == oracle(aws_rules, capture, "cloudtrail")


def test_the_corpus_finds_the_same_with_and_without_gates(
    aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = corpus_files()
    gated = _counts(hunt_files(aws_rules, files))
    _every_rule_planned(monkeypatch)
    assert gated == _counts(hunt_files(aws_rules, files))
    assert len(gated) > 20


def test_a_capture_matching_no_gate_plans_nothing_and_finds_nothing(
    tmp_path: Path, aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = tmp_path / "quiet.jsonl"
    quiet = {"eventSource": "quiet.amazonaws.com", "eventName": "Nothing", "userIdentity": {"type": "Unknown"}}
    capture.write_text(json.dumps(quiet) + "\n")
    gated_only = [rule for rule in aws_rules if rule.gates]
    planned = planned_rules(monkeypatch)
    assert hunt_files(gated_only, [capture]) == []
    assert planned == []


def test_when_the_gate_pass_fails_every_rule_is_hunted_the_careful_way(
    tmp_path: Path, aws_rules: list[CompiledRule]
) -> None:
    # A line that opens an object but is not JSON fails the pass (and the scan): the careful way counts.
    records = corpus_records(300)
    capture = tmp_path / "broken.jsonl"
    capture.write_text("".join(json.dumps(record) + "\n" for record in records) + '{"eventName": \n')
    found = {m.rule_index: m.matches for m in hunt_files(aws_rules, [capture])}
    assert found == oracle(aws_rules, capture, "cloudtrail")
    assert found


def test_every_sampled_source_finds_the_same_with_and_without_gates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Gates are derived per source (each structure's leaves); the corpus holds rules for eleven sources.
    files = []
    for source in SAMPLED:
        path = tmp_path / f"{source}.jsonl"
        path.write_text("".join(json.dumps(record) + "\n" for record in sample_records(source)))
        files.append(path)
    rules = []
    for path in sorted(RULES.glob("*.yml")):
        with contextlib.suppress(RuleCompileError):
            rules += compile_sigma(path.read_text())
    assert sum(1 for rule in rules if rule.gates) > 200
    gated = _counts(hunt_files(rules, files))
    _every_rule_planned(monkeypatch)
    assert gated == _counts(hunt_files(rules, files))
    assert len({name for _, name in gated}) >= 5  # rules of several sources matched their samples


def test_a_tiny_capture_is_gated_and_hunted_in_python_without_the_database(
    tmp_path: Path, aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gates and the rules in Python (`text_gates`, `text_scan`), the database never waited for,
    however DuckDB would have read the files."""
    capture = _tiny_capture(tmp_path)
    steps = spy_steps(
        monkeypatch,
        hunt_module,
        files_gate_values="python pass",
        _duckdb_gate_values="duckdb pass",
        text_counts="python scan",
    )
    database = PendingDatabase(start=False)
    real_get = database.get

    def get() -> Any:
        steps.append("database")
        return real_get()

    monkeypatch.setattr(database, "get", get)
    assert hunt_checked(aws_rules, capture, database)
    assert steps == ["python pass", "python scan"]
    assert not database.started
