"""Gzip bombs, endless lines and oversized events: refused by line with a reason, the rest kept,
in bounded memory and time, on the Python path (uploads) and the native path (files)."""

from __future__ import annotations

import gzip
import json
import random
import resource
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mantissa_log.lake import LogLake, parse
from mantissa_log.lake.model import IngestLimits
from mantissa_log.lake.results import IngestResult
from tests.fixtures_api import ApiUser

SMALL = IngestLimits(decompressed_bytes=4 << 20, line_bytes=64 << 10, event_bytes=16 << 10)


def ct(event_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": "2026-03-01T09:00:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser",
        "eventID": event_id,
        **extra,
    }


def line(event_id: str, **extra: Any) -> bytes:
    return json.dumps(ct(event_id, **extra), separators=(",", ":")).encode() + b"\n"


def gzip_stream(*parts: bytes | tuple[bytes, int]) -> bytes:
    """Gzip of the parts; (chunk, n) is `chunk` repeated n times, compressed without building it."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [compressor.compress(b"")]
    for part in parts:
        chunk, times = part if isinstance(part, tuple) else (part, 1)
        for _ in range(times):
            out.append(compressor.compress(chunk))
    out.append(compressor.flush())
    return b"".join(out)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def both_paths(tmp_path: Path, data: bytes, limits: IngestLimits) -> tuple[IngestResult, IngestResult]:
    """(upload path, native file path) for the same bytes; both must report the same."""
    upload = LogLake(tmp_path / "upload", limits=limits).ingest_bytes("cloudtrail", data)
    path = tmp_path / "input.jsonl.gz"
    path.write_bytes(data)
    native = LogLake(tmp_path / "native", limits=limits).ingest_file("cloudtrail", path)
    assert native.native
    assert [(r.line, r.index, r.reason) for r in native.rejected] == [
        (r.line, r.index, r.reason) for r in upload.rejected
    ]
    assert native.rows == upload.rows
    return upload, native


def test_one_300_mb_line_in_a_small_gzip_costs_neither_memory_nor_time(tmp_path: Path) -> None:
    bomb = gzip_stream(line("before"), b'{"eventName":"', (b"x" * (1 << 20), 300), b'"}\n', line("after"))
    assert len(bomb) < 400_000
    before = peak_mb()
    started = time.process_time()
    upload, _ = both_paths(tmp_path, bomb, IngestLimits())
    assert time.process_time() - started < 4  # both paths stop within the first tens of MB
    assert peak_mb() - before < 100
    assert upload.rows == 1
    assert [(r.line, r.reason.split(" (")[0]) for r in upload.rejected] == [
        (2, "the input decompresses more than 500 times its compressed size")
    ]


def test_good_lines_on_both_sides_of_a_long_line_are_kept(tmp_path: Path) -> None:
    # A long line of ordinary text (it compresses like logs do, so only the line cap applies).
    noise = bytes(random.Random(7).choices(b"abcdefghijklmnopqrstuvwxyz0123456789", k=1 << 20))
    data = gzip_stream(line("before"), b'{"eventName":"', (noise, 12), b'"}\n', line("after"))
    upload, _ = both_paths(tmp_path, data, IngestLimits())
    assert upload.rows == 2
    assert [(r.line, r.reason) for r in upload.rejected] == [
        (2, "line longer than 8388608 bytes (MANTISSA_MAX_LINE_BYTES); skipped")
    ]


def test_decompression_stops_at_the_cap(tmp_path: Path) -> None:
    noise = bytes(random.Random(8).choices(b"abcdefghijklmnopqrstuvwxyz", k=4000))
    lines = b"".join(line(str(n), pad=noise[n % 1000 : n % 1000 + 3000].decode()) for n in range(2000))  # ~6.5 MB
    upload, _ = both_paths(tmp_path, gzip.compress(lines), IngestLimits(decompressed_bytes=4 << 20))
    kept = upload.rows
    assert 1000 < kept < 2000
    (stop,) = upload.rejected
    assert stop.line == kept + 1
    assert "decompresses to more than 4194304 bytes (MANTISSA_MAX_DECOMPRESSED_BYTES)" in stop.reason


@pytest.mark.parametrize("path", ["upload", "native"])
def test_a_bomb_of_many_lines_stops_early_and_counts_what_it_refused(tmp_path: Path, path: str) -> None:
    bomb = gzip_stream(line("first"), (b"{}\n" * 100_000, 1000))  # 300 MB of lines from ~300 KB
    started = time.process_time()
    lake = LogLake(tmp_path / path)
    if path == "upload":
        result = lake.ingest_bytes("cloudtrail", bomb)
    else:
        (tmp_path / "bomb.gz").write_bytes(bomb)
        result = lake.ingest_file("cloudtrail", tmp_path / "bomb.gz")
    assert time.process_time() - started < 4
    assert result.rows == 1
    assert "decompression bomb" in result.rejected[-1].reason
    assert result.rejected_total is not None
    assert result.rejected_total > len(result.rejected)  # every `{}` line counted; the first 1,000 kept
    assert len(result.rejected) <= 1001


def test_a_gigabyte_of_one_character_is_refused_fast(tmp_path: Path) -> None:
    bomb = gzip_stream((b"A" * (1 << 20), 1024))  # 1 GB, one line, about 1 MB of gzip
    assert len(bomb) < 1_100_000
    before = peak_mb()
    started = time.process_time()
    result = LogLake(tmp_path / "lake").ingest_bytes("json", bomb)
    assert time.process_time() - started < 2
    assert peak_mb() - before < 100
    assert result.rows == 0
    assert [r.reason.split(" (")[0] for r in result.rejected] == [
        "the input decompresses more than 500 times its compressed size"
    ]


def test_an_event_over_the_cap_is_refused_by_line_and_the_rest_kept(tmp_path: Path) -> None:
    big = "y" * (20 << 10)
    envelope = json.dumps({"Records": [ct("3"), ct("4", big=big)]}).encode() + b"\n"
    data = b"".join([line("1"), line("2", big=big), envelope, line("5")])
    upload, _ = both_paths(tmp_path, gzip.compress(data), SMALL)
    assert upload.rows == 3
    assert [(r.line, r.index) for r in upload.rejected] == [(2, None), (3, 1)]
    assert all("over the 16384-byte limit (MANTISSA_MAX_EVENT_BYTES)" in r.reason for r in upload.rejected)


def test_a_json_array_over_the_line_cap_is_refused_with_a_reason(tmp_path: Path) -> None:
    array = json.dumps([ct(str(n), pad="p" * 100) for n in range(2000)], indent=1).encode()
    parsed = parse("cloudtrail", array, limits=SMALL)
    assert parsed.accepted == 0
    assert "send JSON lines" in parsed.rejected[0].reason
    assert parse("cloudtrail", array).accepted == 2000  # under the default cap it is read


def test_a_number_of_5000_digits_is_refused_by_line(tmp_path: Path) -> None:
    data = line("1") + b'{"eventName":"x","eventSource":"y","n":' + b"9" * 5000 + b"}\n" + line("3")
    parsed = parse("cloudtrail", data)
    assert parsed.accepted == 2
    assert [(r.line, r.reason) for r in parsed.rejected] == [
        (2, f"a number has more than {sys.get_int_max_str_digits()} digits")
    ]


def test_the_api_keeps_good_lines_around_a_long_line(api: TestClient, shipper: ApiUser) -> None:
    noise = bytes(random.Random(9).choices(b"abcdefghijklmnopqrstuvwxyz", k=1 << 20))
    bomb = gzip_stream(line("before"), b'{"eventName":"', (noise, 20), b'"}\n', line("after"))
    response = api.post(
        "/api/v1/ingest/cloudtrail",
        headers=shipper.headers | {"Content-Type": "application/x-ndjson"},
        content=bomb,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert report["rejections"][0]["line"] == 2


@pytest.mark.parametrize("size", [SMALL.line_bytes - 1, SMALL.line_bytes, SMALL.line_bytes + 1])
def test_the_line_cap_is_exact_on_both_paths(tmp_path: Path, size: int) -> None:
    head = b'{"eventName":"x","eventSource":"y","pad":"'
    text = head + b"z" * (size - len(head) - 2) + b'"}'
    assert len(text) == size
    limits = IngestLimits(line_bytes=SMALL.line_bytes, event_bytes=1 << 20)
    upload, _ = both_paths(tmp_path, gzip.compress(line("1") + text + b"\n" + line("3")), limits)
    assert upload.rows == (3 if size <= limits.line_bytes else 2)
