"""Small uploads of one source arriving together are written as one group (one dedup session,
one Parquet file, one index commit), and each call still gets its own exact answer."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.errors import StoreError
from mantissa_log.lake import IngestResult, LogLake, ParsedEvent
from tests.lake.conftest import corpus_records, jsonl
from tests.lake.test_dedup import count


def data_files(lake: LogLake) -> list[Path]:
    return sorted(lake.root.glob("source=cloudtrail/date=*/hour=*/*.parquet"))


def while_the_turn_is_held(lake: LogLake, calls: list[Callable[[], Any]]) -> list[Any]:
    """Start every call while the source's writer turn is taken, so they all queue, then let them go."""
    turn = lake._group_turns.setdefault("cloudtrail", threading.Lock())
    with ThreadPoolExecutor(len(calls)) as pool:
        with turn:
            futures = [pool.submit(call) for call in calls]
            deadline = time.monotonic() + 30
            while len(lake._groups.get("cloudtrail", [])) < len(calls):
                assert time.monotonic() < deadline, "the calls did not queue"
                time.sleep(0.01)
        return [future.result(timeout=60) for future in futures]


def test_uploads_waiting_together_are_one_write_with_exact_counts_per_call(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    records = corpus_records(40)
    already = records[30:35]
    lake.ingest_bytes("cloudtrail", jsonl(already))
    files_before = len(data_files(lake))
    payloads = [
        records[0:10],  # all new
        records[5:15],  # 5 shared with the first call
        [records[20], records[20], records[21]],  # a repeat inside the call
        records[30:40],  # 5 stored before
    ]
    results: list[IngestResult] = while_the_turn_is_held(
        lake, [lambda p=p: lake.ingest_bytes("cloudtrail", jsonl(p)) for p in payloads]
    )
    for payload, result in zip(payloads, results, strict=True):
        assert result.rows + result.duplicates == len(payload)
    assert (results[2].rows, results[2].duplicates) == (2, 1)
    assert (results[3].rows, results[3].duplicates) == (5, 5)
    # Between the first two calls, whichever the group put first stored the shared five.
    assert sorted((results[0].rows, results[1].rows)) == [5, 10]
    assert len(data_files(lake)) == files_before + 1  # one file for the whole group
    assert count(lake) == 5 + 15 + 2 + 5
    # Exactly once: the same uploads again store nothing.
    again = while_the_turn_is_held(lake, [lambda p=p: lake.ingest_bytes("cloudtrail", jsonl(p)) for p in payloads])
    assert [r.rows for r in again] == [0, 0, 0, 0]
    assert [r.duplicates for r in again] == [len(p) for p in payloads]
    assert count(lake) == 27


def test_a_call_that_cannot_be_written_fails_alone(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    records = corpus_records(20)
    # What no parser produces (they repair a lone surrogate), handed to the group directly: DuckDB
    # refuses the text, which fails the group's write; each call is then written on its own.
    bad = [ParsedEvent('{"a": "' + chr(0xD800) + '"}')]

    def good(n: int) -> Callable[[], IngestResult]:
        return lambda: lake.ingest_bytes("cloudtrail", jsonl(records[n * 10 : n * 10 + 10]))

    def failing() -> Any:
        try:
            return lake._grouped(SOURCES["cloudtrail"], bad, 0.0)
        except StoreError as exc:
            return exc

    results = while_the_turn_is_held(lake, [good(0), failing, good(1)])
    assert [r.rows for r in (results[0], results[2])] == [10, 10]
    assert isinstance(results[1], StoreError)
    assert "cannot write" in str(results[1])
    assert count(lake) == 20
    assert len(data_files(lake)) == 2  # written one by one after the group failed
    assert not list(lake.root.rglob(".*.tmp"))


def test_many_concurrent_uploads_store_each_event_once(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    records = corpus_records(60)
    payloads = [records[i : i + 20] for i in range(0, 41, 4)]  # overlapping windows
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda p: lake.ingest_bytes("cloudtrail", jsonl(p)), payloads))
    assert sum(r.rows for r in results) == 60
    for payload, result in zip(payloads, results, strict=True):
        assert result.rows + result.duplicates == len(payload)
    assert count(lake) == 60


@pytest.mark.parametrize("big", [True, False])
def test_gzipped_or_large_uploads_are_not_grouped(tmp_path: Path, big: bool) -> None:
    lake = LogLake(tmp_path / "lake", rows_per_file=5)
    records = corpus_records(12)
    data = jsonl(records)
    if big:  # more events than one file holds: streamed in chunks, as before
        result = lake.ingest_bytes("cloudtrail", data)
        assert (result.rows, len(result.files)) == (12, 3)
    else:
        result = lake.ingest_bytes("cloudtrail", gzip.compress(data))
        assert result.rows == 12
    assert lake._groups.get("cloudtrail", []) == []


def test_a_call_whose_events_were_all_stored_before_names_no_file(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake")
    records = corpus_records(10)
    lake.ingest_bytes("cloudtrail", jsonl(records[:5]))
    old, new = while_the_turn_is_held(
        lake,
        [
            lambda: lake.ingest_bytes("cloudtrail", jsonl(records[:5])),
            lambda: lake.ingest_bytes("cloudtrail", jsonl(records[5:])),
        ],
    )
    assert (old.rows, old.duplicates, old.files) == (0, 5, ())
    assert (new.rows, len(new.files)) == (5, 1)
