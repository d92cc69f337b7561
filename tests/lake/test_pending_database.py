"""The hunt's database, set up on a thread and warmed by one query of a scan's shape."""

from __future__ import annotations

import json
from pathlib import Path

import _duckdb as duckdb
import pytest

from mantissa_log.lake.detect.pending import WARM_UP, PendingDatabase
from mantissa_log.lake.detect.tiny import ROUTED_BYTES, may_need_no_database
from mantissa_log.services.detection.hunt import hunt
from mantissa_log.services.detection.hunt_database import event_arguments, start_hunt_database
from tests.lake.conftest import corpus_records
from tests.lake.test_hunt import AWS


def test_the_warm_up_query_runs_on_this_engine_and_counts_what_it_should() -> None:
    # The set-up swallows the warm-up's errors (only time would be lost), so a query this engine
    # refuses would go unnoticed but for this test: one line matches by its field, one by its list.
    with duckdb.connect(":memory:") as connection:
        assert sorted(connection.execute(WARM_UP).fetchall()) == [(1, 1), (2, 1)]


def test_a_pending_database_is_a_working_connection_once_set_up() -> None:
    pending = PendingDatabase()
    connection = pending.get()
    assert connection.execute("SELECT json_extract_string('{\"a\": [\"b\"]}', '$.a[0]')").fetchall() == [("b",)]
    assert pending.get() is connection  # set up once
    connection.close()


def test_a_hunt_leaves_a_database_it_was_given_open_and_closes_one_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = tmp_path / "trail.jsonl"
    events.write_text("".join(json.dumps(record) + "\n" for record in corpus_records(50)))
    rule = next(path for path in AWS if path.stem == "aws_sts_assumerole_misuse")
    given = PendingDatabase()
    found = hunt([rule], [events], cache_folder=tmp_path / "cache", database=given)
    assert [finding.matches for finding in found if finding.error is None]
    # Its owner's: still open (the `hunt` command ends its process rather than pay for closing it).
    assert given.get().execute("SELECT 42").fetchall() == [(42,)]
    given.close()

    closed: list[PendingDatabase] = []
    monkeypatch.setattr(PendingDatabase, "close", lambda self: closed.append(self))
    again = hunt([rule], [events], cache_folder=tmp_path / "cache")
    assert [finding.matches for finding in again] == [finding.matches for finding in found]
    assert len(closed) == 1  # the one it made
    assert closed[0] is not given


def test_a_database_not_started_starts_when_first_needed_and_closes_as_nothing_otherwise() -> None:
    idle = PendingDatabase(start=False)
    idle.settle()  # nothing to wait for
    idle.close()  # nothing to close
    assert not idle.started
    lazy = PendingDatabase(start=False)
    assert lazy.get().execute("SELECT 7").fetchall() == [(7,)]
    assert lazy.started
    lazy.close()


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--rules", "r", "--events", "a", "b", "-f", "json"], ["a", "b"]),
        (["-e", "a", "-r", "x", "-e", "b"], ["a", "b"]),
        (["--events=a", "-eb", "--ev", "c", "d", "--format", "json"], ["a", "b", "c", "d"]),
        (["--rules", "x", "--", "y"], []),
    ],
)
def test_the_command_finds_its_event_paths_as_argparse_reads_them(arguments: list[str], expected: list[str]) -> None:
    assert event_arguments(arguments) == expected


def test_the_database_starts_at_once_unless_the_events_may_need_no_database(tmp_path: Path) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text("{}\n" * 10)
    folder = tmp_path / "folder"
    (folder / "deeper").mkdir(parents=True)
    (folder / "deeper" / "a.jsonl").write_text("{}\n")
    big = tmp_path / "big.jsonl"
    big.write_bytes(b" " * (ROUTED_BYTES + 1))
    packed = tmp_path / "small.jsonl.gz"
    packed.write_bytes(b"\x1f\x8b")
    assert may_need_no_database([str(small), str(folder)])
    assert not may_need_no_database([str(small), str(big)])
    assert not may_need_no_database([str(packed)])  # a compressed file may hold far more
    assert not may_need_no_database([str(tmp_path / "missing")])
    (folder / "deeper" / "b.jsonl").write_bytes(b" " * ROUTED_BYTES)
    assert not may_need_no_database([str(folder)])  # files under folders count
    lazy = start_hunt_database(["-r", "rules", "-e", str(small)])
    eager = start_hunt_database(["-r", "rules", "-e", str(big)])
    try:
        assert not lazy.started
        assert eager.started
    finally:
        eager.close()
