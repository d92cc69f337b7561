"""The lines a hunt reads in Python (`lake.detect.text_lines`): every line holding an event some rule
matches (as DuckDB's scan reads it) is kept, and a mid-size hunt that reads only those finds what the
DuckDB scan finds, without starting the database."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.detect import hunt as hunt_module
from mantissa_log.lake.detect import hunt_lines
from mantissa_log.lake.detect.hunt import hunt_files
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.lake.detect.text_lines import Router
from mantissa_log.lake.detect.tiny import ROUTED_BYTES, TINY_BYTES
from mantissa_log.sigma import compile_sigma
from mantissa_log.sigma.compiled import CompiledRule
from tests.lake.conftest import cloudtrail_capture, corpus_records, planned_rules, spy_steps
from tests.lake.test_hunt import AWS, oracle
from tests.lake.test_text_scan import _duckdb_truths

CLOUDTRAIL = SOURCES["cloudtrail"].structure


@pytest.fixture(scope="module")
def aws_rules() -> list[CompiledRule]:
    return [rule for path in AWS for rule in compile_sigma(path.read_text())]


def _cloudtrail_lines() -> list[str]:
    return [json.dumps(record) for record in corpus_records() if "eventSource" in record]


def _router(rules: list[CompiledRule]) -> Router:
    router = Router.of([rule.gates for rule in rules], CLOUDTRAIL)
    assert router is not None
    return router


def _routed(lines: list[str], rules: list[CompiledRule]) -> tuple[set[str], set[int]]:
    """The lines kept, and the positions of the rules whose gates hold for some line."""
    router = _router(rules)
    kept = router.kept("\n".join(lines))
    assert kept is not None
    return set(kept.split("\n")) - {""}, router.holding


def _matched(lines: list[str], rules: list[CompiledRule]) -> tuple[set[str], set[int]]:
    """The lines holding an event some rule matches, and those rules, by DuckDB's reading."""
    truths = _duckdb_truths(lines, [rule.flag_expression for rule in rules], CLOUDTRAIL)
    lines_matched = {line for line, row in zip(lines, truths, strict=True) if any(row)}
    rules_matched = {position for row in truths for position, truth in enumerate(row) if truth}
    return lines_matched, rules_matched


def test_every_corpus_line_a_rule_matches_is_kept_and_most_others_are_not(aws_rules: list[CompiledRule]) -> None:
    lines = _cloudtrail_lines()
    kept, holding = _routed(lines, aws_rules)
    matched, rules_matched = _matched(lines, aws_rules)
    assert matched, "the corpus holds attacks the AWS rules find"
    assert matched <= kept
    assert rules_matched <= holding
    assert len(kept) < len(set(lines)) / 2  # not a check that keeps everything


def _event(name: str, **more: Any) -> dict[str, Any]:
    return {"eventSource": "cloudtrail.amazonaws.com", "eventName": name, "eventID": str(uuid.uuid4()), **more}


def _spellings() -> list[str]:
    """Lines an expression over the text could misread: spacing, key order, nesting, repeated keys,
    values of other kinds, escapes in values, envelopes."""
    stop = _event("StopLogging")
    return [
        json.dumps(stop),
        json.dumps(stop, separators=(",", ":")),
        json.dumps(stop, separators=(" ,\t", " :\t ")),
        json.dumps(dict(reversed(list(stop.items())))),
        '{"eventName" : "StopLogging", "eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":"Other","eventName":"StopLogging","eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":"StopLogging","eventName":"Other","eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":"Stop\\"Logging","eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":"STOPLOGGING","eventSource":"CloudTrail.AmazonAWS.com"}',
        '{"eventName":"StopLogging\\n","eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":12,"eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":true,"eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":["StopLogging"],"eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":{"x":"StopLogging"},"eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":null,"eventSource":"cloudtrail.amazonaws.com"}',
        '{"eventName":"Stöp","eventSource":"cloudtrail.amazonaws.com"}',
        '{"requestParameters":{"eventName":"StopLogging"},"eventName":"Other"}',
        '{"eventSource":"cloudtrail.amazonaws.com"}',
        '{"x":"{\\"eventName\\": \\"StopLogging\\"}","eventSource":"cloudtrail.amazonaws.com"}',
        json.dumps(_event("DeleteTrail")),
        json.dumps(_event("UpdateTrail")),
        json.dumps(_event("DescribeTrails")),
    ]


def test_lines_spelled_in_every_way_keep_each_event_a_rule_matches(aws_rules: list[CompiledRule]) -> None:
    lines = _spellings()
    kept, holding = _routed(lines, aws_rules)
    matched, rules_matched = _matched(lines, aws_rules)
    assert json.dumps(json.loads(lines[0])) in matched  # StopLogging: the CloudTrail tampering rule
    assert matched <= kept
    assert rules_matched <= holding
    # Values not read as plain text (an escape, another kind, other characters) keep their line.
    for unsure in (7, 9, 10, 11, 12, 13, 15):
        assert lines[unsure] in kept
    assert lines[-1] not in kept  # DescribeTrails: no rule's gate holds


def test_an_envelope_is_kept_when_a_member_may_be_matched(aws_rules: list[CompiledRule]) -> None:
    quiet = {"Records": [_event("DescribeTrails")]}
    loud = {"Records": [_event("DescribeTrails"), _event("StopLogging")]}
    kept, _ = _routed([json.dumps(quiet), json.dumps(loud), "not json", ' {"eventName":"StopLogging"}'], aws_rules)
    assert kept == {json.dumps(loud)}  # a line not opening with `{` is never an event to the hunt


@pytest.mark.parametrize(
    "text",
    [
        '{"event\\u004eame":"StopLogging"}',  # a key spelled with an escape
        '{"eventName":"x","note":"\\u0041"}',  # any escape that could spell an ASCII character
    ],
)
def test_escapes_that_may_spell_a_key_give_up(text: str, aws_rules: list[CompiledRule]) -> None:
    assert _router(aws_rules).kept(text) is None


def test_a_rule_without_a_gate_gives_up(aws_rules: list[CompiledRule]) -> None:
    gates = [rule.gates for rule in aws_rules]
    assert Router.of([*gates, ()], CLOUDTRAIL) is None


def _mid_capture(folder: Path, size: int) -> Path:
    """The corpus' CloudTrail events again and again up to `size` bytes: above TINY_BYTES."""
    capture = cloudtrail_capture(folder / "mid.jsonl", size)
    assert TINY_BYTES < capture.stat().st_size <= ROUTED_BYTES
    return capture


def _spied(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return spy_steps(monkeypatch, hunt_module, _duckdb_gate_values="duckdb pass", text_counts="python scan")


def hunt_checked(rules: list[CompiledRule], capture: Path, database: PendingDatabase) -> dict[int, int]:
    """Matches per rule index of a hunt over a CloudTrail capture with this database (closed after),
    checked against the oracle."""
    try:
        found = hunt_files(rules, [capture], database=database)
    finally:
        database.close()
    counts = {match.rule_index: match.matches for match in found}
    assert counts == oracle(rules, capture, "cloudtrail")
    return counts


def test_a_mid_size_capture_is_hunted_in_python_from_the_lines_worth_reading(
    tmp_path: Path, aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _mid_capture(tmp_path, 2 * TINY_BYTES)
    steps = _spied(monkeypatch)
    database = PendingDatabase(start=False)
    expected = hunt_checked(aws_rules, capture, database)
    assert expected
    assert steps == ["python scan"]
    assert not database.started


def test_too_many_lines_worth_reading_go_to_duckdb_with_the_gates_already_known(
    tmp_path: Path, aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ROUTED_READ_BYTES of kept lines, DuckDB scans only those, planning only the rules the
    routing found may hold (its own gate pass is not run), started once the first pieces promise too
    many lines for Python."""
    capture = _mid_capture(tmp_path, 2 * TINY_BYTES)
    monkeypatch.setattr(hunt_lines, "ROUTED_READ_BYTES", 1000)
    steps = _spied(monkeypatch)
    planned = planned_rules(monkeypatch)
    handed: list[int] = []
    real_select = hunt_lines.lines_select

    def select(*args: Any, texts: list[tuple[int, str]] | None = None, **kwargs: Any) -> Any:
        handed.append(-1 if texts is None else sum(len(text) for _, text in texts))
        return real_select(*args, texts=texts, **kwargs)

    monkeypatch.setattr(hunt_lines, "lines_select", select)
    database = PendingDatabase(start=False)
    expected = hunt_checked(aws_rules, capture, database)
    assert steps == []
    assert database.started
    assert set(expected) <= set(planned) < set(range(len(aws_rules)))
    # DuckDB reads only the kept lines, handed over: not the whole capture.
    assert handed
    assert all(0 < size < capture.stat().st_size / 2 for size in handed)
