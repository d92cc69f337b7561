"""The lake at rest: layout, columns, struct values, late keys, windows, pruning, atomic files, stats."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.errors import StoreError, ValidationFailed
from mantissa_log.lake import LogLake, ParsedEvent, parse
from mantissa_log.lake.parsers import cloudtrail, vpcflow
from tests.lake.conftest import corpus_records, jsonl

T0 = datetime(2026, 3, 1, 9, 15, 0, 123456, tzinfo=UTC)


def data_files(lake: LogLake) -> list[Path]:
    """The lake's Parquet files of events (not those of the event-id index)."""
    return [path for path in lake.root.rglob("*.parquet") if "_ids" not in path.parts]


def rows(lake: LogLake, sql: str) -> list[tuple[Any, ...]]:
    with lake.connect() as connection:
        return connection.execute(sql).fetchall()


def query(
    lake: LogLake,
    source: str,
    select: str,
    tail: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[tuple[Any, ...]]:
    """`SELECT select FROM (the source's relation) tail`."""
    return rows(lake, f"SELECT {select} FROM ({lake.relation_sql(source, since, until)}) {tail}")  # noqa: S608


def test_partition_layout_and_columns(lake: LogLake) -> None:
    records = corpus_records()
    result = lake.ingest("cloudtrail", cloudtrail.parse(jsonl(records)), ingest_time=T0)
    # One corpus event appears in two files (same eventID, same time): stored once.
    assert (result.rows, result.duplicates) == (len(records) - 1, 1)
    assert result.ingest_time == T0
    (path,) = result.files
    relative = path.relative_to(lake.root).as_posix()
    assert re.fullmatch(
        r"source=cloudtrail/date=2026-03-01/hour=09/part-20260301T091500123456Z-[0-9a-f]{32}-0\.parquet", relative
    )
    assert result.bytes_written == path.stat().st_size > 0
    described = rows(lake, f"DESCRIBE SELECT * FROM read_parquet('{path}', hive_partitioning = false)")  # noqa: S608
    types = {name: kind for name, kind, *_ in described}
    assert list(types) == ["ingest_time", "event_time", "event_id", "raw", "event"]
    assert types["ingest_time"] == types["event_time"] == "TIMESTAMP"
    assert types["event_id"] == types["raw"] == "VARCHAR"
    assert types["event"].startswith("STRUCT(eventVersion VARCHAR, userIdentity STRUCT(")
    # Nothing is lost: every stored raw is the event.
    stored = query(lake, "cloudtrail", "raw, event_id, ingest_time")
    assert sorted(json.loads(raw)["eventID"] for raw, _, _ in stored) == sorted(
        {record["eventID"] for record in records}
    )
    assert all(json.loads(raw)["eventID"] == event_id for raw, event_id, _ in stored)
    assert {ingest for *_, ingest in stored} == {T0.replace(tzinfo=None)}


def test_struct_leaves_are_text_and_json_booleans_read_true(lake: LogLake) -> None:
    records = [r for r in corpus_records() if r.get("readOnly") is False and isinstance(r.get("managementEvent"), bool)]
    lake.ingest("cloudtrail", cloudtrail.parse(jsonl(records[:5])))
    found = query(
        lake,
        "cloudtrail",
        "typeof(event.readOnly), event.readOnly, event.managementEvent, typeof(event.requestParameters)",
    )
    assert found == [("VARCHAR", "false", "true", "JSON")] * 5
    assert query(lake, "cloudtrail", "count(*)", "WHERE event.managementEvent = 'true'") == [(5,)]


def test_a_key_first_seen_after_30000_events_is_kept(lake: LogLake) -> None:
    base = {"eventName": "GetObject", "eventSource": "s3.amazonaws.com", "eventTime": "2026-03-01T09:00:00Z"}
    events: list[dict[str, Any]] = [dict(base, eventID=f"id-{n}") for n in range(30_000)]
    events.append({**base, "eventID": "late", "vpcEndpointId": "vpce-123", "lateKey": {"nested": [1, True]}})
    result = lake.ingest("cloudtrail", cloudtrail.parse(jsonl(events)))
    assert result.rows == 30_001
    (late,) = query(
        lake,
        "cloudtrail",
        "event.vpcEndpointId, json_extract_string(raw, '$.lateKey.nested[1]')",
        "WHERE event_id = 'late'",
    )
    assert late == ("vpce-123", "true")


def test_event_id_falls_back_to_sha256_of_raw(lake: LogLake) -> None:
    parsed = vpcflow.parse(b"2 123456789010 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 1418530010 1418530070 ACCEPT OK\n")
    lake.ingest("vpcflow", parsed)
    ((raw, event_id, src),) = query(lake, "vpcflow", "raw, event_id, event.srcaddr")
    assert event_id == hashlib.sha256(raw.encode()).hexdigest()
    assert src == "10.0.0.1"


def test_json_source_has_no_event_struct(lake: LogLake) -> None:
    lake.ingest("json", parse("json", b'{"time": 1714645230, "msg": "hello"}\n'))
    (info,) = [info for info in lake.sources() if info.name == "json"]
    assert [column.name for column in info.columns] == ["ingest_time", "event_time", "event_id", "raw"]
    assert query(lake, "json", "event_time, raw") == [
        (datetime(2024, 5, 2, 10, 20, 30), '{"time":1714645230,"msg":"hello"}')
    ]


def test_concurrent_ingests_on_the_lakes_one_database_keep_their_own_tables(lake: LogLake) -> None:
    """Ingests share one in-memory DuckDB database (a cursor each): their TEMP tables (`batch`,
    the dedup keys) are private, so concurrent ingests of two sources and repeats of one count right."""
    records = corpus_records(120)
    batches = [("cloudtrail", jsonl(records[i : i + 30])) for i in range(0, 120, 30)]
    batches += [("json", b"".join(b'{"n": %d, "thread": %d}\n' % (n, t) for n in range(40))) for t in range(4)]
    batches += batches[:2]  # repeats: every event a duplicate, whichever ingest comes first
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        results = list(pool.map(lambda batch: lake.ingest_bytes(*batch), batches))
    stored = sum(result.rows for result in results)
    assert stored + sum(result.duplicates for result in results) == 120 + 160 + 60
    assert stored == 120 + 160
    assert rows(lake, f"SELECT count(*) FROM ({lake.relation_sql('cloudtrail')})") == [(120,)]  # noqa: S608
    assert rows(lake, f"SELECT count(*) FROM ({lake.relation_sql('json')})") == [(160,)]  # noqa: S608


def test_window_filters_by_ingest_time_and_prunes_partitions(lake: LogLake) -> None:
    records = corpus_records(8)
    times = [T0, T0 + timedelta(minutes=30), T0 + timedelta(hours=2), T0 + timedelta(days=1)]
    for n, moment in enumerate(times):
        lake.ingest("cloudtrail", cloudtrail.parse(jsonl(records[2 * n : 2 * n + 2])), ingest_time=moment)

    def count(since: datetime | None, until: datetime | None) -> int:
        return int(query(lake, "cloudtrail", "count(*)", since=since, until=until)[0][0])

    assert count(None, None) == 8
    assert count(T0, times[1]) == 2  # since is exclusive, until inclusive
    assert count(T0 - timedelta(microseconds=1), times[1]) == 4
    assert count(times[1], times[3] - timedelta(microseconds=1)) == 2
    assert count(times[3], None) == 0
    # Partitions outside the window are not read at all: a corrupt file there does not matter.
    bad_hour = lake.root / "source=cloudtrail" / "date=2026-03-01" / "hour=13"
    bad_hour.mkdir(parents=True)
    (bad_hour / "part-corrupt.parquet").write_bytes(b"not parquet")
    assert count(T0 - timedelta(hours=1), times[2]) == 6
    assert len(lake.files("cloudtrail", T0 - timedelta(hours=1), times[2])) == 3
    with pytest.raises(duckdb.Error):
        count(times[2], times[3])
    in_window = lake.files("cloudtrail", T0 - timedelta(hours=1), times[1])
    expected_mb = sum(path.stat().st_size for path in in_window) / 1_000_000
    assert lake.data_scanned_mb("cloudtrail", T0 - timedelta(hours=1), times[1]) == pytest.approx(expected_mb)
    assert lake.data_scanned_mb("cloudtrail", times[3] + timedelta(hours=1), None) == 0.0


def test_no_files_gives_an_empty_relation_with_the_same_columns(lake: LogLake) -> None:
    empty = query(lake, "cloudtrail", "*", "LIMIT 0")
    assert query(lake, "cloudtrail", "count(*)") == [(0,)]
    with lake.connect() as connection:
        empty_columns = connection.execute(f"DESCRIBE {lake.relation_sql('cloudtrail')}").fetchall()
    lake.ingest("cloudtrail", cloudtrail.parse(jsonl(corpus_records(1))))
    with lake.connect() as connection:
        full_columns = connection.execute(f"DESCRIBE {lake.relation_sql('cloudtrail')}").fetchall()
    assert empty == []
    assert [row[:2] for row in empty_columns] == [row[:2] for row in full_columns]


def test_files_written_under_an_older_structure_read_missing_fields_as_null(lake: LogLake) -> None:
    old = lake.root / "source=cloudtrail" / "date=2026-03-01" / "hour=08" / "part-old.parquet"
    old.parent.mkdir(parents=True)
    with duckdb.connect() as connection:
        connection.execute(
            "COPY (SELECT TIMESTAMP '2026-03-01 08:00:00' AS ingest_time, NULL::TIMESTAMP AS event_time, "
            """'old' AS event_id, '{"eventName":"Old"}' AS raw, {'eventName': 'Old'} AS event) """
            f"TO '{old}' (FORMAT parquet)"
        )
    lake.ingest("cloudtrail", cloudtrail.parse(jsonl(corpus_records(1))), ingest_time=T0)
    found = query(lake, "cloudtrail", "event_id, event.eventName, event.eventSource", "ORDER BY ingest_time")
    assert found[0] == ("old", "Old", None)
    assert found[1][2] is not None


def test_big_inputs_are_chunked_into_files_published_together(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake", rows_per_file=100)
    records = corpus_records(250)
    result = lake.ingest("cloudtrail", cloudtrail.parse(jsonl(records)))
    assert result.rows == 250
    assert len(result.files) == 3
    with duckdb.connect() as connection:
        counts = [
            connection.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchall() for path in result.files
        ]
    assert sorted(count for ((count,),) in counts) == [50, 100, 100]


def test_files_appear_only_when_the_whole_ingest_is_written(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake", rows_per_file=10)
    parsed = cloudtrail.parse(jsonl(corpus_records(30)))
    seen: list[tuple[int, int]] = []
    watermarks: list[datetime] = []

    def events() -> Iterator[ParsedEvent]:
        for number, event in enumerate(parsed.events):
            if number in (15, 25):  # while chunks are being written
                visible = data_files(lake)
                hidden = list(lake.root.rglob(".*.tmp"))
                seen.append((len(visible), len(hidden)))
                watermarks.append(lake.visible_until())
            yield event

    result = lake.ingest("cloudtrail", events())
    assert seen == [(0, 1), (0, 2)]
    # A detection run meanwhile would have stopped below this ingest's rows.
    assert all(watermark < result.ingest_time for watermark in watermarks)
    assert len(data_files(lake)) == 3 == len(result.files)
    assert not list(lake.root.rglob(".*.tmp"))
    assert lake.visible_until() >= result.ingest_time


def test_a_failed_ingest_leaves_no_file(tmp_path: Path) -> None:
    lake = LogLake(tmp_path / "lake", rows_per_file=10)
    good = cloudtrail.parse(jsonl(corpus_records(15))).events

    def events() -> Iterator[ParsedEvent]:
        yield from good
        raise RuntimeError("upload interrupted")

    with pytest.raises(RuntimeError):
        lake.ingest("cloudtrail", events())
    assert not [path for path in lake.root.rglob("*") if path.is_file() and "_ids" not in path.parts]
    with pytest.raises(ValidationFailed, match="event 15: raw text is not a JSON object"):
        lake.ingest("cloudtrail", [*good, ParsedEvent("[1, 2]")])
    with pytest.raises(ValidationFailed, match="event 15: raw text is not a JSON object"):
        lake.ingest("cloudtrail", [*good, ParsedEvent("{not json")])
    with pytest.raises(StoreError, match="cannot write"):
        lake.ingest("cloudtrail", [ParsedEvent('{"a": "' + chr(0xD800) + '"}')])  # a lone surrogate
    assert not [path for path in lake.root.rglob("*") if path.is_file() and "_ids" not in path.parts]
    with pytest.raises(ValidationFailed, match="unknown log source"):
        lake.ingest("syslog", good)


def test_stale_in_flight_markers_do_not_hold_the_watermark(lake: LogLake) -> None:
    markers = lake.root / "_inflight"
    markers.mkdir(parents=True)
    dead_pid = 2**22 + 12345  # above the default pid_max: never a live process
    (markers / f"1000000-{dead_pid}-x").touch()
    (markers / f"{int((datetime.now(UTC) - timedelta(hours=2)).timestamp() * 1e6)}-{os.getpid()}-y").touch()
    now = datetime.now(UTC)
    assert lake.visible_until(now) == now
    assert not list(markers.iterdir())
    with lake.inflight.hold() as stamp:
        assert lake.visible_until() < stamp


def test_sources_reports_each_source(lake: LogLake) -> None:
    records = [record for record in corpus_records() if "eventTime" in record][:40]
    lake.ingest("cloudtrail", cloudtrail.parse(jsonl(records[:25])), ingest_time=T0)
    lake.ingest("cloudtrail", cloudtrail.parse(jsonl(records[25:])), ingest_time=T0 + timedelta(hours=1))
    infos = {info.name: info for info in lake.sources()}
    assert list(infos) == list(SOURCE_NAMES)
    trail = infos["cloudtrail"]
    assert (trail.rows, trail.files) == (40, 2)
    assert trail.bytes == sum(path.stat().st_size for path in lake.files("cloudtrail"))
    assert (trail.min_ingest_time, trail.max_ingest_time) == (T0, T0 + timedelta(hours=1))
    times = [datetime.fromisoformat(record["eventTime"]).astimezone(UTC) for record in records]
    assert (trail.min_event_time, trail.max_event_time) == (min(times), max(times))
    assert [column.name for column in trail.columns][-1] == "event"
    okta = infos["okta"]
    assert (okta.rows, okta.files, okta.bytes, okta.min_event_time) == (0, 0, 0, None)
    assert [column.type for column in okta.columns][:2] == ["TIMESTAMP", "TIMESTAMP"]


def test_nothing_to_store_writes_nothing(lake: LogLake) -> None:
    for data in [b"", b"\n\n", gzip.compress(b""), b'{"eventName": "NoSource"}\n']:
        parsed = cloudtrail.parse(data)
        result = lake.ingest("cloudtrail", parsed)
        assert (result.rows, result.files, result.rejected) == (0, (), tuple(parsed.rejected))
    assert lake.files("cloudtrail") == []
    with pytest.raises(ValidationFailed, match="parsed as 'cloudtrail'"):
        lake.ingest("okta", cloudtrail.parse(b""))
