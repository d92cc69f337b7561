"""A mid-size hunt shared with the `hunt` command's helper process (`lake.detect.text_halves`): the
counts of the two halves are the whole input's, by DuckDB's reading, whichever way the halves end
(both answer in Python; too many lines kept, handed to DuckDB; the routing gives up).

Most tests run the helper's half in this process (`_InProcessHelper`, the same `hunt_half` the forked
helper runs): the merging is what they check. The last ones run the real command's start in a fresh
interpreter, where the helper is forked (this test process has other threads, beside which it never is).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.lake.detect import hunt_lines, text_halves
from mantissa_log.lake.detect.helper import Pieces, Spans
from mantissa_log.lake.detect.hunt import hunt_files
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.lake.detect.text_halves import HalfAnswer, HalfOrder, Texts
from mantissa_log.lake.detect.tiny import HELPED_BYTES, ROUTED_BYTES, TINY_BYTES
from mantissa_log.sigma import compile_sigma
from mantissa_log.sigma.compiled import CompiledRule
from tests.lake.conftest import cloudtrail_capture, planned_rules
from tests.lake.test_hunt import AWS, oracle

RULES = AWS[0].parent


@pytest.fixture(scope="module")
def aws_rules() -> list[CompiledRule]:
    return [rule for path in AWS for rule in compile_sigma(path.read_text())]


# An event only one AWS rule matches (`aws_sts_getcalleridentity_trufflehog`), which no corpus event does.
_TRUFFLEHOG = {"eventSource": "sts.amazonaws.com", "eventName": "GetCallerIdentity", "userAgent": "TruffleHog v3.6"}


class _InProcessHelper:
    """The helper's side run here, on order: `text_halves.hunt_half` over the bytes it was given."""

    def __init__(self) -> None:
        self.child = self  # the helper's process, as `text_halves` talks to it
        self.ordered: list[int] = []  # bytes per order
        self.closed = False
        self._memory = bytearray()
        self._kept: Texts | None = None
        self._order: HalfOrder | None = None

    def share(self, pieces: Pieces) -> Spans:
        spans = []
        for fid, data in pieces:
            spans.append((fid, len(self._memory), len(self._memory) + len(data)))
            self._memory += data
        return spans

    def order(self, order: HalfOrder) -> bool:
        self.ordered.append(sum(end - start for _, start, end in order.spans))
        self._order = order
        return True

    def answer(self) -> HalfAnswer | None:
        assert self._order is not None
        texts = [(fid, self._memory[start:end].decode("utf-8")) for fid, start, end in self._order.spans]
        answer, self._kept = text_halves.hunt_half(
            texts, self._order.rules, self._order.envelope, self._order.structure
        )
        return answer

    def extra(self) -> Texts | None:
        return self._kept

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def helper(monkeypatch: pytest.MonkeyPatch) -> _InProcessHelper:
    made = _InProcessHelper()
    taken: list[_InProcessHelper] = [made]
    monkeypatch.setattr(text_halves, "take_helper", lambda: taken.pop() if taken else None)
    return made


def _capture(path: Path, size: int, odd: str | None = None) -> Path:
    capture = cloudtrail_capture(path, size, odd)
    assert capture.stat().st_size <= ROUTED_BYTES
    return capture


def _hunted(rules: list[CompiledRule], paths: list[Path]) -> tuple[dict[tuple[int, str], int], PendingDatabase]:
    database = PendingDatabase(start=False)
    try:
        found = hunt_files(rules, paths, database=database)
    finally:
        database.close()
    return {(match.rule_index, match.events_file.name): match.matches for match in found}, database


def _oracle(rules: list[CompiledRule], paths: list[Path]) -> dict[tuple[int, str], int]:
    return {(index, path.name): count for path in paths for index, count in oracle(rules, path, "cloudtrail").items()}


def test_both_halves_answer_in_python_and_add_up_to_the_whole(
    tmp_path: Path, aws_rules: list[CompiledRule], helper: _InProcessHelper
) -> None:
    capture = _capture(tmp_path / "mid.jsonl", 2 * TINY_BYTES)
    assert capture.stat().st_size > TINY_BYTES
    counts, database = _hunted(aws_rules, [capture])
    assert counts == _oracle(aws_rules, [capture])
    assert counts
    # The helper had about half the bytes; the database was never needed.
    assert len(helper.ordered) == 1
    assert abs(helper.ordered[0] - capture.stat().st_size / 2) < 5000
    assert helper.closed
    assert not database.started


def test_files_are_shared_out_by_size_and_a_file_across_the_middle_is_cut_at_a_newline(
    tmp_path: Path, aws_rules: list[CompiledRule], helper: _InProcessHelper
) -> None:
    small = _capture(tmp_path / "a.jsonl", TINY_BYTES // 2 + 1)
    middle = _capture(tmp_path / "b.jsonl", TINY_BYTES + 1)
    last = _capture(tmp_path / "c.jsonl", TINY_BYTES // 2 + 1)
    counts, _ = _hunted(aws_rules, [small, middle, last])
    assert counts == _oracle(aws_rules, [small, middle, last])
    assert {name for _, name in counts} == {"a.jsonl", "b.jsonl", "c.jsonl"}
    pieces = [(fid, path.read_bytes()) for fid, path in enumerate([small, middle, last])]
    first, second = text_halves._split(pieces)
    assert [fid for fid, _ in first] == [0, 1]
    assert [fid for fid, _ in second] == [1, 2]
    rejoined = first[1][1] + b"\n" + second[0][1]
    assert rejoined == pieces[1][1]  # nothing lost or doubled: the cut is one newline
    assert first[1][1].endswith(b"}")
    assert second[0][1].startswith(b"{")


def test_too_many_kept_lines_go_to_duckdb_from_both_halves_with_only_the_rules_that_may_hold(
    tmp_path: Path, aws_rules: list[CompiledRule], helper: _InProcessHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Last, so in the helper's half only: an event only one rule matches, which no corpus event does.
    capture = _capture(tmp_path / "mid.jsonl", 2 * TINY_BYTES, odd=json.dumps(_TRUFFLEHOG))
    monkeypatch.setattr(text_halves, "HALF_READ_BYTES", 1000)
    planned = planned_rules(monkeypatch)
    handed: list[int] = []
    real_select = hunt_lines.lines_select

    def select(*args: Any, texts: Texts | None = None, **kwargs: Any) -> Any:
        handed.append(-1 if texts is None else sum(len(text) for _, text in texts))
        return real_select(*args, texts=texts, **kwargs)

    monkeypatch.setattr(hunt_lines, "lines_select", select)
    counts, database = _hunted(aws_rules, [capture])
    expected = _oracle(aws_rules, [capture])
    assert counts == expected
    trufflehog = next(i for i, rule in enumerate(aws_rules) if rule.title.startswith("AWS STS GetCallerIdentity"))
    assert expected[(trufflehog, "mid.jsonl")] == 1
    assert database.started
    assert {index for index, _ in counts} <= set(planned) < set(range(len(aws_rules)))
    # DuckDB got the kept lines of both halves (more than one half's), not the whole capture.
    assert handed
    assert all(1000 < size < capture.stat().st_size / 2 for size in handed)


def test_a_half_whose_routing_gives_up_sends_everything_to_duckdb(
    tmp_path: Path, aws_rules: list[CompiledRule], helper: _InProcessHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key spelled with an escape (`\u0065ventName`), in the helper's half: DuckDB reads it as eventName.
    odd = '{"\\u0065ventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com", "eventID": "odd"}'
    capture = _capture(tmp_path / "mid.jsonl", 2 * TINY_BYTES, odd=odd)
    handed: list[int] = []
    real_select = hunt_lines.lines_select

    def select(*args: Any, texts: Texts | None = None, **kwargs: Any) -> Any:
        handed.append(-1 if texts is None else 0)
        return real_select(*args, texts=texts, **kwargs)

    monkeypatch.setattr(hunt_lines, "lines_select", select)
    counts, database = _hunted(aws_rules, [capture])
    assert counts == _oracle(aws_rules, [capture])
    assert database.started
    assert handed
    assert set(handed) == {-1}


def test_without_a_helper_a_mid_size_hunt_runs_on_one_core(
    tmp_path: Path, aws_rules: list[CompiledRule], monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _capture(tmp_path / "mid.jsonl", 2 * TINY_BYTES)
    splits: list[int] = []
    real_split = text_halves._split
    monkeypatch.setattr(text_halves, "_split", lambda pieces: splits.append(1) or real_split(pieces))
    counts, database = _hunted(aws_rules, [capture])
    assert counts == _oracle(aws_rules, [capture])
    assert not database.started
    assert splits == []  # nothing was split or copied for a helper that is not there


_COMMAND_START = """
import json, os, sys
from pathlib import Path
if os.environ.get("ONE_CPU"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from mantissa_log.services.detection.hunt_database import start_hunt_database
database = start_hunt_database(['--rules', sys.argv[1], '--events', *sys.argv[3:]])
from mantissa_log.lake.detect import helper, hunt_lines
ways = []
real = hunt_lines.hunt_in_halves
def spied(*args):
    halves = real(*args)
    ways.append('none' if halves is None else 'python' if halves.counts is not None else 'duckdb')
    return halves
hunt_lines.hunt_in_halves = spied
from mantissa_log.cli.paths import rule_files
from mantissa_log.services.detection.hunt import hunt
found = hunt(rule_files([Path(sys.argv[1])]), [Path(p) for p in sys.argv[3:]], None, Path(sys.argv[2]), database)
print(json.dumps({'found': sorted([f.rule_file, f.events_file, f.matches] for f in found), 'ways': ways,
                  'started': database.started}))
"""


def _command(tmp_path: Path, paths: list[Path], *, one_cpu: bool = False) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _COMMAND_START, str(RULES), str(tmp_path / "cache"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ | ({"ONE_CPU": "1"} if one_cpu else {}),
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _expected(tmp_path: Path, paths: list[Path]) -> list[list[Any]]:
    """The same hunt in this process: on one core (no helper here)."""
    from mantissa_log.cli.paths import rule_files
    from mantissa_log.services.detection.hunt import hunt

    found = hunt(rule_files([RULES]), paths, None, tmp_path / "cache")
    return sorted([f.rule_file, f.events_file, f.matches] for f in found)


def _two_cpus() -> bool:
    import os

    return len(os.sched_getaffinity(0)) > 1 if hasattr(os, "sched_getaffinity") else False


@pytest.mark.skipif(not _two_cpus(), reason="the helper is forked only where two CPUs may be used")
def test_the_command_forks_its_helper_and_finds_what_one_core_finds(tmp_path: Path) -> None:
    capture = _capture(tmp_path / "mid.jsonl", HELPED_BYTES + TINY_BYTES // 2, odd=json.dumps(_TRUFFLEHOG))
    expected = _expected(tmp_path, [capture])
    # The helper's half holds the last line: the only event one rule matches.
    trufflehog = str(RULES / "aws_sts_getcalleridentity_trufflehog.yml")
    assert [trufflehog, 1] in [[rule_file, matches] for rule_file, _, matches in expected]
    result = _command(tmp_path, [capture])
    assert result == {"found": expected, "ways": ["python"], "started": False}


@pytest.mark.skipif(not _two_cpus(), reason="the helper is forked only where two CPUs may be used")
def test_the_command_with_its_helper_hands_duckdb_what_python_cannot_vouch_for(tmp_path: Path) -> None:
    """A value Python cannot vouch for in one half (a number beyond the double range, which DuckDB
    reads otherwise): that half cannot count, so both halves' kept lines go to DuckDB; and a file that
    is not UTF-8 beside the rest, which the helper refuses to take (the hunt then runs on one core)."""
    odd = json.dumps({"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com", "eventID": "odd"})
    odd = odd[:-1] + ', "requestParameters": {"n": 1' + "0" * 400 + "}}"
    capture = _capture(tmp_path / "mid.jsonl", HELPED_BYTES + TINY_BYTES // 2, odd=odd)
    expected = _expected(tmp_path, [capture])
    assert _command(tmp_path, [capture]) == {"found": expected, "ways": ["duckdb"], "started": True}
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(capture.read_bytes()[: TINY_BYTES // 2] + b"\n" + b'{"eventName": "caf\xe9"}\n')
    expected = _expected(tmp_path, [capture, latin])
    assert _command(tmp_path, [capture, latin])["found"] == expected


def test_the_command_hunts_a_small_input_without_a_helper(tmp_path: Path) -> None:
    """Up to HELPED_BYTES one core alone is as fast: no helper is forked, the hunt runs on one core."""
    capture = _capture(tmp_path / "mid.jsonl", 2 * TINY_BYTES)
    assert capture.stat().st_size <= HELPED_BYTES
    expected = _expected(tmp_path, [capture])
    assert _command(tmp_path, [capture]) == {"found": expected, "ways": ["none"], "started": False}


@pytest.mark.skipif(not _two_cpus(), reason="the helper is forked only where two CPUs may be used")
def test_the_command_allowed_one_cpu_forks_no_helper(tmp_path: Path) -> None:
    """A process held to one CPU (`taskset`, a container's set) gains nothing from a second process."""
    capture = _capture(tmp_path / "mid.jsonl", HELPED_BYTES + TINY_BYTES // 2)
    expected = _expected(tmp_path, [capture])
    result = _command(tmp_path, [capture], one_cpu=True)
    assert result == {"found": expected, "ways": ["none"], "started": False}
