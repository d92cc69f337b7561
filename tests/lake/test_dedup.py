"""Ingest is idempotent: an event stored within the horizon is counted as a duplicate, not stored again."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mantissa_log.lake import LogLake, parse
from mantissa_log.lake.dedup import MERGE_AFTER_FILES
from tests.lake.conftest import corpus_records, jsonl

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def count(lake: LogLake, source: str = "cloudtrail") -> int:
    with lake.connect() as connection:
        found = connection.execute(f"SELECT count(*) FROM ({lake.relation_sql(source)})").fetchone()  # noqa: S608
    return int(found[0]) if found else 0


def test_the_same_file_twice_stores_its_events_once(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    path = tmp_path / "events.jsonl"
    path.write_bytes(jsonl(corpus_records(50)))
    first = lake.ingest_file("cloudtrail", path)
    again = lake.ingest_file("cloudtrail", path)
    assert (first.rows, first.duplicates) == (50, 0)
    assert (again.rows, again.duplicates, again.files) == (0, 50, ())
    # The Python path (API uploads) shares the same index.
    uploaded = lake.ingest("cloudtrail", parse("cloudtrail", path.read_bytes()))
    assert (uploaded.rows, uploaded.duplicates) == (0, 50)
    assert count(lake) == 50


def test_a_retried_upload_with_new_events_stores_only_the_new_ones(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    records = corpus_records(30)
    lake.ingest("cloudtrail", parse("cloudtrail", jsonl(records[:20])))
    retry = lake.ingest("cloudtrail", parse("cloudtrail", jsonl(records[10:30])))
    assert (retry.rows, retry.duplicates) == (10, 10)
    assert count(lake) == 30


def test_repeats_inside_one_input_are_stored_once(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    record = corpus_records(1)[0]
    result = lake.ingest("cloudtrail", parse("cloudtrail", jsonl([record, record, record])))
    assert (result.rows, result.duplicates) == (1, 2)


def test_events_without_an_id_are_deduplicated_by_content(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    events = [{"message": "a", "n": 1}, {"message": "b", "n": 2}]
    lake.ingest("json", parse("json", jsonl(events)))
    again = lake.ingest("json", parse("json", jsonl([*events, {"message": "c", "n": 3}])))
    assert (again.rows, again.duplicates) == (1, 2)
    assert count(lake, "json") == 3


def test_same_id_at_another_time_is_another_event(tmp_path: Path) -> None:
    """Sanitized exports stamp one placeholder id on many events: distinct times keep them apart."""
    lake = LogLake(tmp_path / "lake")
    base = {"eventName": "GetObject", "eventSource": "s3.amazonaws.com", "eventID": "xxxxxxxx"}
    events = [base | {"eventTime": "2026-03-01T09:00:00Z"}, base | {"eventTime": "2026-03-01T09:00:01Z"}]
    result = lake.ingest("cloudtrail", parse("cloudtrail", jsonl(events)))
    assert (result.rows, result.duplicates) == (2, 0)


def test_ids_older_than_the_horizon_are_forgotten(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake", dedup_horizon=timedelta(seconds=1))
    records = corpus_records(5)
    lake.ingest("cloudtrail", parse("cloudtrail", jsonl(records)))
    key_files = list((tmp_path / "lake" / "_ids" / "source=cloudtrail").glob("*.parquet"))
    assert len(key_files) == 1
    # Pretend the index file was written two seconds ago (its name carries its time span).
    first, last, rest = key_files[0].name.split("-", 2)
    key_files[0].rename(key_files[0].with_name(f"{int(first) - 2}-{int(last) - 2}-{rest}"))
    later = lake.ingest("cloudtrail", parse("cloudtrail", jsonl(records)))
    assert (later.rows, later.duplicates) == (5, 0)


def test_a_zero_horizon_turns_deduplication_off(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake", dedup_horizon=timedelta(0))
    records = corpus_records(5)
    lake.ingest("cloudtrail", parse("cloudtrail", jsonl(records)))
    again = lake.ingest("cloudtrail", parse("cloudtrail", jsonl(records)))
    assert (again.rows, again.duplicates) == (5, 0)


def test_many_small_ingests_merge_their_key_files(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    records = corpus_records(MERGE_AFTER_FILES + 3)
    for record in records:
        lake.ingest("cloudtrail", parse("cloudtrail", jsonl([record])))
    key_files = list((tmp_path / "lake" / "_ids" / "source=cloudtrail").glob("*.parquet"))
    assert len(key_files) <= 4  # merged once past the limit, then a few new ones
    again = lake.ingest("cloudtrail", parse("cloudtrail", jsonl(records)))
    assert (again.rows, again.duplicates) == (0, len(records))


CONCURRENT = """
import sys
from pathlib import Path
from mantissa_log.lake import LogLake
result = LogLake(Path(sys.argv[1])).ingest_file("cloudtrail", Path(sys.argv[2]))
print(result.rows, result.duplicates)
"""


def test_two_processes_ingesting_the_same_file_store_it_once(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(jsonl(corpus_records(200)))
    lake_dir = tmp_path / "lake"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(lake_dir), str(path)], stdout=subprocess.PIPE, cwd=ROOT, text=True
        )
        for _ in range(2)
    ]
    outputs = sorted(json.loads("[" + run.communicate(timeout=120)[0].strip().replace(" ", ",") + "]") for run in runs)
    assert all(run.returncode == 0 for run in runs)
    assert outputs == [[0, 200], [200, 0]]
    assert count(LogLake(lake_dir)) == 200
