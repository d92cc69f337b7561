"""The native ingest (`LogLake.ingest_file`): DuckDB reads JSON lines, with the Python path's answers.

Every test ingests the same input both ways (`ingest_file`, and `parse` + `ingest`) and compares what
is stored (event id, event time, `event` struct, `raw` as JSON) and what is reported (rejections
with line, index and reason; repaired count).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.errors import StoreError
from mantissa_log.lake import LogLake, halved_copy, parse, staging
from mantissa_log.lake import native as native_module
from mantissa_log.lake import sql as lake_sql
from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits
from mantissa_log.lake.results import IngestResult
from tests.lake.conftest import corpus_files, corpus_records

T0 = datetime(2026, 3, 1, 9, 15, tzinfo=UTC)


@pytest.fixture(autouse=True, params=["text read beside the decisions", "text kept in the decisions"])
def events_text(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test both ways the native reader gets the events' text: read from the file again beside
    the decisions (inputs under KEEP_TEXT_BYTES), or kept in the decisions table (larger ones)."""
    if request.param == "text kept in the decisions":
        monkeypatch.setattr(native_module, "KEEP_TEXT_BYTES", 0)


def stored(lake: LogLake, source: str) -> list[tuple[Any, ...]]:
    """(event_id, event_time, event, raw as a value) of every row, in stored order (file by file)."""
    files = sorted(lake.files(source), key=lambda path: int(path.stem.rpartition("-")[2]))
    event = ", event" if source != "json" else ""
    rows: list[tuple[Any, ...]] = []
    with lake.connect() as connection:
        for path in files:
            select = f"SELECT event_id, event_time, raw{event} FROM read_parquet('{path}', file_row_number = true)"  # noqa: S608
            rows += connection.execute(f"{select} ORDER BY file_row_number").fetchall()
    return [(r[0], r[1], r[3] if len(r) > 3 else None, json.loads(r[2])) for r in rows]


def both_ways(tmp_path: Path, source: str, path: Path, **lake_options: Any) -> tuple[IngestResult, IngestResult]:
    """(native result, Python result) for the same file; asserts they store and report the same."""
    native_lake = LogLake(tmp_path / "native", **lake_options)
    python_lake = LogLake(tmp_path / "python", **lake_options)
    native = native_lake.ingest_file(source, path, ingest_time=T0)
    parsed = parse(source, path.read_bytes(), limits=lake_options.get("limits", DEFAULT_LIMITS))
    python = python_lake.ingest(source, parsed, ingest_time=T0)
    assert native.rejected == python.rejected
    assert native.repaired == python.repaired == parsed.repaired
    assert native.rows == python.rows
    assert native.duplicates == python.duplicates
    native_rows, python_rows = stored(native_lake, source), stored(python_lake, source)
    if not SOURCES[source].id_fields:
        # No id field: the id is a hash of `raw`, which the native way keeps as sent.
        for native_row, python_row in zip(native_rows, python_rows, strict=True):
            assert native_row[0] is not None
            assert python_row[0] is not None
        native_rows = [(None, *row[1:]) for row in native_rows]
        python_rows = [(None, *row[1:]) for row in python_rows]
    assert native_rows == python_rows
    return native, python


def write_lines(path: Path, lines: list[str | bytes], *, compress: bool = False) -> Path:
    data = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def compact(record: Any) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def test_corpus_files_store_the_same_rows(tmp_path: Path) -> None:
    # All 728 CloudTrail records of the corpus in one file, with their original spelling.
    lines = [line for path in corpus_files() for line in path.read_text(encoding="utf-8").splitlines()]
    native, _ = both_ways(tmp_path, "cloudtrail", write_lines(tmp_path / "corpus.jsonl", lines))
    assert native.native
    records = corpus_records()
    # One corpus event appears in two files (same eventID, same time): stored once, counted as a duplicate.
    assert native.rows == len({(record["eventID"], record.get("eventTime")) for record in records}) == len(records) - 1
    assert native.duplicates == 1


@pytest.mark.parametrize("index", [0, 1, 17, 120, 300])
def test_single_corpus_files(tmp_path: Path, index: int) -> None:
    native, _ = both_ways(tmp_path, "cloudtrail", corpus_files()[index])
    assert native.native


def test_raw_keeps_the_line_and_the_struct_is_the_same(tmp_path: Path) -> None:
    record = corpus_records(1)[0]
    spaced = json.dumps(record, indent=None)  # ", " and ": " separators, ASCII escapes
    lake = LogLake(tmp_path / "lake")
    result = lake.ingest_file("cloudtrail", write_lines(tmp_path / "one.jsonl", [spaced]), ingest_time=T0)
    assert result.native
    assert result.rows == 1
    with lake.connect() as connection:
        (raw,) = connection.execute(f"SELECT raw FROM ({lake.relation_sql('cloudtrail')})").fetchone() or ("",)  # noqa: S608
    assert raw == spaced
    both_ways(tmp_path / "again", "cloudtrail", tmp_path / "one.jsonl")


def ct(name: str = "ConsoleLogin", **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"eventName": name, "eventSource": "signin.amazonaws.com"}
    record.update(fields)
    return record


TRICKY: list[str | bytes] = [
    compact(ct(eventTime="2026-01-02T03:04:05Z", eventID="a-1")),
    "",
    "   \t",
    compact(ct(eventTime="2026-01-02T03:04:05.5+05:30", eventID="a-2")),
    "not json",
    '"a string"',
    "42",
    "[" + compact(ct(eventID="in-array")) + ", 7]",
    compact({"eventSource": "x"}),
    compact(ct(name="")),
    compact({"eventName": 5, "eventSource": "x"}),
    '{"eventName":"A","eventSource":"x","n":NaN}',
    '{"eventName":"A","eventSource":"x","n":-Infinity}',
    '{"eventName":"A","eventSource":"x","l":[1,2,]}',
    '{"eventName":"A","eventSource":"x","l":{"a":1 , }}',
    '{"eventName":"A","eventSource":"x","s":"\\ud800"}',
    '{"eventName":"A","eventSource":"x","s":"\\u00e9\\/\\n","eventID":"esc\\u0041"}',
    "  " + compact(ct(eventID="padded")) + " \t",
    compact(ct(eventTime="2026-01-02t03:04:05.123456789z")),
    compact(ct(eventTime="2026-01-02 03:04:05-07:00")),
    compact(ct(eventTime="2026-01-02T03:04:05")),
    compact(ct(eventTime="2026-02-30T00:00:00Z")),
    compact(ct(eventTime="2026-01-02T24:00:00Z")),
    compact(ct(eventTime="2026-01-02")),
    compact(ct(eventTime=" 2026-01-02T03:04:05Z ")),
    compact(ct(eventTime="yesterday")),
    compact(ct(eventTime=1767323045)),
    compact(ct(eventTime=1767323045123)),
    compact(ct(eventTime=1767323045123456)),
    compact(ct(eventTime=1767323045123456789)),
    compact(ct(eventTime="1767323045")),
    compact(ct(eventTime=1767323045.5)),
    compact(ct(eventTime=-5)),
    compact(ct(eventTime=True)),
    compact(ct(eventTime=None)),
    compact(ct(eventTime={"at": "2026-01-02T03:04:05Z"})),
    compact(ct(eventID="")),
    compact(ct(eventID=12345)),
    compact(ct(eventID=1.5)),
    compact(ct(eventID=None)),
    compact(ct(eventID=["x"])),
    compact(ct(userAgent="ünïcödé ✓ 日本")),
    compact({"Records": [ct(eventID="r0"), "oops", {"eventSource": "x"}, ct(eventID="r3", eventTime=17)]}),
    compact({"Records": [], "note": "empty envelope"}),
    compact({"Records": "not a list"}),
    b'{"eventName":"A","eventSource":"x"}\x00junk',
    b'{"eventName":"A","eventSource":"x","s":"a\x00b"}',
    compact(ct(eventID="vt")).encode() + b"\x0b",
    b"\x0c",
    "\u2003",
    compact(ct(eventID="last")),
]


def test_tricky_lines_match_the_python_path(tmp_path: Path) -> None:
    native, _ = both_ways(tmp_path, "cloudtrail", write_lines(tmp_path / "tricky.jsonl", TRICKY))
    assert native.native
    reasons = {(r.line, r.index): r.reason for r in native.rejected}
    assert reasons[(5, None)].startswith("invalid JSON: Expecting value")
    assert reasons[(6, None)] == "record is a string, not a JSON object"
    assert reasons[(8, 1)] == "record is a number, not a JSON object"
    assert reasons[(9, None)] == "missing eventName"
    assert reasons[(10, None)] == "eventName is empty, not a non-empty string"
    assert reasons[(11, None)] == "eventName is a number, not a non-empty string"
    assert reasons[(12, None)].startswith("not storable as JSON")
    assert reasons[(14, None)].startswith("invalid JSON")
    assert reasons[(43, 1)] == "record is a string, not a JSON object"
    assert reasons[(43, 2)] == "missing eventName"
    assert native.repaired == 1  # the lone surrogate, replaced by U+FFFD as the Python path does


def test_tricky_lines_crlf_gzip_and_sources(tmp_path: Path) -> None:
    # CRLF line ends make DuckDB's CSV reader unusable (it also ends lines at \r): the text reader runs.
    crlf = write_lines(tmp_path / "crlf.jsonl", [line + ("\r" if isinstance(line, str) else b"\r") for line in TRICKY])
    assert both_ways(tmp_path / "crlf", "cloudtrail", crlf)[0].native
    zipped = write_lines(tmp_path / "tricky.json", TRICKY, compress=True)  # gzip told by magic bytes
    assert both_ways(tmp_path / "gz", "cloudtrail", zipped)[0].native
    for source in ("json", "okta", "github", "gcp_audit"):
        assert both_ways(tmp_path / source, source, tmp_path / "tricky.json")[0].native


def test_other_sources_time_and_id_fields(tmp_path: Path) -> None:
    lines = [
        compact({"eventType": "user.session.start", "published": "2026-01-02T03:04:05.678Z", "uuid": "u1"}),
        compact({"action": "repo.create", "@timestamp": 1767323045123, "_document_id": "d1"}),
        compact({"action": "repo.create", "created_at": "2026-01-02T03:04:05Z"}),
        compact({"action": "repo.create", "@timestamp": "bad", "created_at": 1767323045}),
        compact({"protoPayload": {"methodName": "x"}, "timestamp": "2026-01-02T03:04:05.123456789Z", "insertId": "i"}),
        compact({"protoPayload": "no", "receiveTimestamp": "2026-01-02T03:04:05Z"}),
        compact({"time": 1767323045, "timestamp": None, "eventTime": "2026-01-02T03:04:05Z"}),
    ]
    path = write_lines(tmp_path / "mixed.jsonl", lines)
    for source in ("okta", "github", "gcp_audit", "json"):
        native, _ = both_ways(tmp_path / source, source, path)
        assert native.native


def test_rejected_lines_are_reported_with_numbers_and_reasons(tmp_path: Path) -> None:
    lines = [compact(ct(eventID="1")), "{broken", compact({"eventSource": "s"}), "", compact(ct(eventID="5"))]
    lake = LogLake(tmp_path / "lake")
    result = lake.ingest_file("cloudtrail", write_lines(tmp_path / "f.jsonl", lines), ingest_time=T0)
    assert result.native
    assert result.rows == 2
    assert [(r.line, r.index, r.reason) for r in result.rejected] == [
        (2, None, "invalid JSON: Expecting property name enclosed in double quotes (column 2)"),
        (3, None, "missing eventName"),
    ]


def test_envelope_file_gzipped(tmp_path: Path) -> None:
    records: list[Any] = corpus_records(40)
    records.insert(3, ["not", "an", "object"])
    records.insert(7, {"eventSource": "s3.amazonaws.com"})
    delivery = tmp_path / "delivery.json.gz"
    delivery.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    native, _ = both_ways(tmp_path, "cloudtrail", delivery)
    assert native.native
    assert native.rows == 40
    assert [(r.line, r.index) for r in native.rejected] == [(1, 3), (1, 7)]


def test_invalid_utf8_falls_back_to_the_python_path(tmp_path: Path) -> None:
    lines: list[str | bytes] = [compact(ct(eventID="1")), b'{"eventName":"A","eventSource":"x","ua":"\xff\xfe"}']
    path = write_lines(tmp_path / "latin.jsonl", lines)
    native, _ = both_ways(tmp_path, "cloudtrail", path)
    assert not native.native
    assert native.rows == 2
    assert native.repaired == 1


def test_documents_and_arrays_and_vpcflow_take_the_python_path(tmp_path: Path) -> None:
    records = corpus_records(3)
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps({"Records": records}, indent=2))
    array = tmp_path / "array.json"
    array.write_text(json.dumps(records))
    for path in (pretty, array):
        native, _ = both_ways(tmp_path / path.stem, "cloudtrail", path)
        assert not native.native
        assert native.rows == 3
    flow = tmp_path / "flow.log"
    flow.write_text("2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n")
    result = LogLake(tmp_path / "vpc").ingest_file("vpcflow", flow, ingest_time=T0)
    assert not result.native
    assert result.rows == 1


def test_empty_and_blank_files(tmp_path: Path) -> None:
    for name, content in (("empty", b""), ("blank", b"\n\n  \n")):
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(content)
        native, _ = both_ways(tmp_path / name, "cloudtrail", path)
        assert native.rows == 0
        assert native.files == ()


def test_a_line_longer_than_the_csv_reader_takes(tmp_path: Path) -> None:
    lines = [compact(ct(eventID="1")), compact(ct(eventID="2", big="x" * (3 << 20))), compact(ct(eventID="3"))]
    roomy = IngestLimits(event_bytes=8 << 20)  # a 3 MB event is over the default 1 MB cap
    native, _ = both_ways(tmp_path, "cloudtrail", write_lines(tmp_path / "long.jsonl", lines), limits=roomy)
    assert native.native
    assert native.rows == 3


def test_pieces_number_lines_across_the_whole_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staging, "PIECE_BYTES", 4096)
    lines: list[str | bytes] = [compact(ct(eventID=str(i), pad="p" * (i % 50))) for i in range(300)]
    lines[150] = "bad line"
    lines[299] = compact({"eventSource": "x"})
    for compress in (False, True):
        path = write_lines(tmp_path / f"many-{compress}.jsonl", lines, compress=compress)
        native, _ = both_ways(tmp_path / str(compress), "cloudtrail", path)
        assert native.native
        assert native.rows == 298
        assert [r.line for r in native.rejected] == [151, 300]


@pytest.mark.parametrize("rows_per_file", [7, 60_000])
def test_files_of_rows_per_file_in_input_order(tmp_path: Path, rows_per_file: int) -> None:
    lines: list[str | bytes] = [compact(ct(eventID=f"id-{i:04d}")) for i in range(100)]
    lines[40] = "{"  # one line for the Python parser: merged back in order
    lines[41] = compact({"Records": [ct(eventID="id-0041-a"), ct(eventID="id-0041-b")]})
    path = write_lines(tmp_path / "f.jsonl", lines)
    native, _ = both_ways(tmp_path, "cloudtrail", path, rows_per_file=rows_per_file)
    expected_files = -(-100 // rows_per_file)
    assert len(native.files) == expected_files
    ids = [row[0] for row in stored(LogLake(tmp_path / "native"), "cloudtrail")]
    assert ids == sorted(ids)


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        return "COPY (SELECT no_such_column FROM range(3)) TO '/nonexistent/x.parquet'"

    monkeypatch.setattr(lake_sql, "copy_rows", broken)
    lake = LogLake(tmp_path / "lake")
    path = write_lines(tmp_path / "f.jsonl", [compact(ct(eventID="1"))])
    with pytest.raises(StoreError):
        lake.ingest_file("cloudtrail", path, ingest_time=T0)
    leftovers = [p for p in (tmp_path / "lake").rglob("*") if p.is_file() and "_ids" not in p.parts]
    assert leftovers == []


def _half_tables(lake: LogLake) -> list[str]:
    """Tables of the lake's in-memory database left by a halved COPY (they are regular tables)."""
    with lake._ingest_connection() as connection:
        found = connection.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'ingest_halves_%'")
        return [str(row[0]) for row in found.fetchall()]


@pytest.mark.parametrize("duplicate", [False, True])
def test_rows_written_in_halves_keep_the_input_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duplicate: bool
) -> None:
    # Inputs of 16k-123k rows are written as two halves at once; 10 rows here, the same way.
    monkeypatch.setattr(halved_copy, "HALVED_MIN_ROWS", 10)
    lines: list[str | bytes] = [compact(ct(eventID=f"id-{i:04d}")) for i in range(100)]
    lines[40] = "{"  # one line for the Python parser: merged back in order
    lines[41] = compact({"Records": [ct(eventID="id-0041-a"), ct(eventID="id-0041-b")]})
    if duplicate:
        lines[77] = lines[12]  # the halves then read the dedup's own table of the rows it kept
    path = write_lines(tmp_path / "f.jsonl", lines)
    native, python = both_ways(tmp_path, "cloudtrail", path)
    assert native.duplicates == int(duplicate)
    assert len(native.files) == 2  # one per half
    assert len(python.files) == 1  # the Python path writes its own way
    ids = [row[0] for row in stored(LogLake(tmp_path / "native"), "cloudtrail")]
    assert ids == sorted(ids)
    assert len(ids) == 100 - int(duplicate)  # 100 lines: one refused, one envelope of two
    assert _half_tables(LogLake(tmp_path / "native")) == []


def test_concurrent_ingests_in_halves_keep_their_own_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The halves' tables are regular tables of the lake's one database, seen by every cursor: each
    ingest must read only its own, whatever runs at the same time."""
    monkeypatch.setattr(halved_copy, "HALVED_MIN_ROWS", 10)
    lake = LogLake(tmp_path / "lake")
    jobs: list[tuple[str, Path]] = []
    for t in range(4):
        trail = [compact(ct(eventID=f"ct-{t}-{i:03d}")) for i in range(30)]
        jobs.append(("cloudtrail", write_lines(tmp_path / f"trail-{t}.jsonl", list(trail))))
        plain = [compact({"n": i, "thread": t, "time": "2026-01-02T03:04:05Z"}) for i in range(40)]
        jobs.append(("json", write_lines(tmp_path / f"plain-{t}.jsonl", list(plain))))
    jobs += jobs[:2]  # repeats: every event a duplicate, whichever ingest comes first
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(lambda job: lake.ingest_file(job[0], job[1], ingest_time=T0), jobs))
    assert sum(result.rows for result in results) == 4 * 30 + 4 * 40
    assert sum(result.duplicates for result in results) == 30 + 40
    written = [len(r.files) for (source, _), r in zip(jobs, results, strict=True) if source == "cloudtrail" and r.rows]
    assert written == [2, 2, 2, 2]  # each in halves
    ids = [row[0] for row in stored(lake, "cloudtrail")]
    assert sorted(ids) == sorted(f"ct-{t}-{i:03d}" for t in range(4) for i in range(30))
    assert _half_tables(lake) == []


def test_a_failed_half_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halved_copy, "HALVED_MIN_ROWS", 10)
    real_copy_rows = lake_sql.copy_rows
    calls: list[str] = []

    def second_breaks(*args: Any, **kwargs: Any) -> str:
        calls.append("copy")
        if len(calls) == 2:
            return "COPY (SELECT no_such_column FROM range(3)) TO '/nonexistent/x.parquet'"
        return real_copy_rows(*args, **kwargs)

    monkeypatch.setattr(lake_sql, "copy_rows", second_breaks)
    lake = LogLake(tmp_path / "lake")
    path = write_lines(tmp_path / "f.jsonl", [compact(ct(eventID=f"id-{i}")) for i in range(40)])
    with pytest.raises(StoreError):
        lake.ingest_file("cloudtrail", path, ingest_time=T0)
    assert len(calls) == 2  # both halves were tried: the first one's file must be gone too
    leftovers = [p for p in (tmp_path / "lake").rglob("*") if p.is_file() and "_ids" not in p.parts]
    assert leftovers == []
    assert _half_tables(lake) == []
    # Nothing of the failed ingest reached the dedup index: once writing works, every event is stored.
    monkeypatch.setattr(lake_sql, "copy_rows", real_copy_rows)
    again = lake.ingest_file("cloudtrail", path, ingest_time=T0)
    assert (again.rows, again.duplicates, len(again.files)) == (40, 0, 2)


def test_hash_ids_hash_the_stored_text(tmp_path: Path) -> None:
    line = '{"message": "no id here",  "time": "2026-01-02T03:04:05Z"}'
    lake = LogLake(tmp_path / "lake")
    lake.ingest_file("json", write_lines(tmp_path / "f.jsonl", [line]), ingest_time=T0)
    with duckdb.connect() as connection:
        found = connection.execute(f"SELECT event_id, raw FROM ({lake.relation_sql('json')})").fetchall()  # noqa: S608
    assert found == [(hashlib.sha256(line.encode()).hexdigest(), line)]


def test_known_differences_of_the_native_reader(tmp_path: Path) -> None:
    """As `lake.native` documents them: valid JSON Python's reader handles otherwise, and DuckDB's leniency."""
    lines = [
        '{"eventName":"First","eventSource":"x","eventName":"Last"}',  # a repeated key
        '{"eventName":"A","eventSource":"x","n":nan}',  # a NaN spelling Python refuses; DuckDB reads it
        '{"eventName":"A","eventSource":"x","n":1e400}',  # valid JSON beyond the double range
    ]
    path = write_lines(tmp_path / "f.jsonl", lines)
    lake = LogLake(tmp_path / "lake")
    result = lake.ingest_file("cloudtrail", path, ingest_time=T0)
    parsed = parse("cloudtrail", path.read_bytes())
    assert result.native
    assert result.rows == 3
    assert [event.raw for event in parsed.events] == ['{"eventName":"Last","eventSource":"x"}']
    with lake.connect() as connection:
        names = connection.execute(f"SELECT event.eventName FROM ({lake.relation_sql('cloudtrail')})").fetchall()  # noqa: S608
    assert names[0] == ("First",)


def test_a_truncated_gzip_takes_the_python_path(tmp_path: Path) -> None:
    lines: list[str | bytes] = [compact(ct(eventID=f"id-{i}", pad="x" * 200)) for i in range(2000)]
    whole = gzip.compress(b"".join((str(line) + "\n").encode() for line in lines))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    native, _ = both_ways(tmp_path, "cloudtrail", path)
    assert not native.native
    assert 0 < native.rows < 2000
    assert native.rejected[-1].reason.startswith("input unreadable from here on")


def test_the_first_event_after_blank_lines_starts_json_lines(tmp_path: Path) -> None:
    # The decisions keep no text for a plain event: the first content line's text is read from the file.
    lines: list[str | bytes] = ["", "   ", compact(ct(eventID="1")), compact(ct(eventID="2"))]
    native, _ = both_ways(tmp_path, "cloudtrail", write_lines(tmp_path / "blank-first.jsonl", lines))
    assert native.native
    assert native.rows == 2


def _after_reading(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """Run `change()` once, when the lines were first decided, before their text is read again for the events."""
    original = native_module.read_piece
    pending = [change]

    def read_then_change(*args: Any, **kwargs: Any) -> Any:
        outcome = original(*args, **kwargs)
        while pending:
            pending.pop()()
        return outcome

    monkeypatch.setattr(native_module, "read_piece", read_then_change)


def test_a_file_rewritten_while_read_is_refused_and_nothing_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_lines(tmp_path / "live.jsonl", [compact(ct(eventID=str(i))) for i in range(20)])
    _after_reading(monkeypatch, lambda: write_lines(path, [compact(ct(eventID="other", pad="x" * 40))]))
    lake = LogLake(tmp_path / "lake")
    with pytest.raises(StoreError, match="rewritten while it was read"):
        lake.ingest_file("cloudtrail", path, ingest_time=T0)
    assert lake.files("cloudtrail") == []
    # Nothing joined the dedup index either: ingesting it again stores it.
    assert lake.ingest_file("cloudtrail", path, ingest_time=T0).rows == 1


def test_lines_appended_while_read_wait_for_the_next_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = [compact(ct(eventID=str(i))) for i in range(20)]
    path = write_lines(tmp_path / "live.jsonl", first)

    def append() -> None:
        with path.open("ab") as out:
            out.write((compact(ct(eventID="late")) + "\n").encode())

    _after_reading(monkeypatch, append)
    lake = LogLake(tmp_path / "lake")
    result = lake.ingest_file("cloudtrail", path, ingest_time=T0)
    assert result.rows == 20
    assert sorted(row[0] for row in stored(lake, "cloudtrail")) == sorted(str(i) for i in range(20))
