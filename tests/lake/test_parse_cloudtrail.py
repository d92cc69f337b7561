"""CloudTrail parsing on the shared corpus: JSON lines, S3 delivery envelopes (gzipped), arrays, bad records."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from mantissa_log.lake import Rejection, parse
from mantissa_log.lake.fields import parse_time
from mantissa_log.lake.parsers import cloudtrail
from tests.lake.conftest import corpus_files, corpus_records, jsonl


def test_every_corpus_file_parses_completely() -> None:
    total = 0
    for path in corpus_files():
        data = path.read_bytes()
        expected = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        result = cloudtrail.parse(data, filename=path.name)
        assert result.rejected == [], path.name
        assert result.accepted == len(expected), path.name
        for event, record in zip(result.events, expected, strict=True):
            assert json.loads(event.raw) == record
            assert event.event_id == record["eventID"]
            # OTRF's Logstash export has `@timestamp` instead of eventTime: no event time then.
            expected_time = record.get("eventTime")
            assert event.event_time == (expected_time and datetime.fromisoformat(expected_time).astimezone(UTC))
        total += result.accepted
    assert total > 700  # 310 stratus + 315 traildiscover + 103 otrf


def test_raw_keeps_key_order_and_text_compactly() -> None:
    record = {"eventVersion": "1.08", "zeta": 1, "eventName": "Put", "eventSource": "s3.amazonaws.com", "a": "é ✓"}
    result = cloudtrail.parse(json.dumps(record, indent=4).encode())  # pretty-printed over many lines
    assert result.rejected == []
    assert (
        result.events[0].raw
        == '{"eventVersion":"1.08","zeta":1,"eventName":"Put","eventSource":"s3.amazonaws.com","a":"é ✓"}'
    )


def test_s3_delivery_file_gzipped_is_detected_by_magic_bytes_not_name() -> None:
    records = corpus_records()
    envelope = json.dumps({"Records": records}).encode()
    for data, name in [(gzip.compress(envelope), "trail.json"), (envelope, "trail.json.gz")]:
        result = parse("cloudtrail", data, filename=name)
        assert result.rejected == []
        assert result.accepted == len(records)
        assert [json.loads(event.raw) for event in result.events] == records
        assert result.filename == name


def test_concatenated_envelopes_json_lines_and_arrays() -> None:
    records = corpus_records(30)
    lines = jsonl([{"Records": records[:10]}, {"Records": []}, {"Records": records[10:20]}]) + jsonl(records[20:])
    assert cloudtrail.parse(gzip.compress(lines)).accepted == 30
    array = json.dumps(records, indent=2).encode()
    result = cloudtrail.parse(array)
    assert (result.accepted, result.rejected) == (30, [])


def test_malformed_records_are_rejected_with_line_and_reason_and_the_rest_kept() -> None:
    good = corpus_records(3)
    text = "\n".join(
        [
            json.dumps(good[0]),  # 1
            "",  # 2 blank: skipped
            '{"eventName": "Broken", ',  # 3 truncated
            json.dumps({"eventSource": "iam.amazonaws.com"}),  # 4 no eventName
            json.dumps({"eventName": "X", "eventSource": None}),  # 5 null eventSource
            json.dumps({"eventName": 7, "eventSource": "s3.amazonaws.com"}),  # 6 not a string
            '"just a string"',  # 7
            "[1, " + json.dumps(good[1]) + "]",  # 8 array: element 0 rejected, element 1 kept
            '{"eventName": "N", "eventSource": "s", "v": NaN}',  # 9 not storable as JSON
            json.dumps(good[2]),  # 10
            "   ",  # 11
        ]
    ).encode()
    result = cloudtrail.parse(text)
    assert [json.loads(event.raw) for event in result.events] == good
    assert [(r.line, r.index) for r in result.rejected] == [
        (3, None),
        (4, None),
        (5, None),
        (6, None),
        (7, None),
        (8, 0),
        (9, None),
    ]
    reasons = [r.reason for r in result.rejected]
    assert reasons[0].startswith("invalid JSON:")
    assert reasons[1] == "missing eventName"
    assert reasons[2] == "missing eventSource"
    assert reasons[3] == "eventName is a number, not a non-empty string"
    assert reasons[4] == "record is a string, not a JSON object"
    assert reasons[5] == "record is a number, not a JSON object"
    assert reasons[6].startswith("not storable as JSON: NaN, Infinity")


def test_bad_records_inside_an_envelope_carry_their_index() -> None:
    good = corpus_records(2)
    data = json.dumps({"Records": [good[0], {"eventName": "NoSource"}, "x", good[1]]}).encode()
    result = cloudtrail.parse(data)
    assert result.accepted == 2
    assert result.rejected == [
        Rejection(1, 1, "missing eventSource"),
        Rejection(1, 2, "record is a string, not a JSON object"),
    ]


def test_digest_files_are_not_events() -> None:
    digest = {"awsAccountId": "111122223333", "digestStartTime": "2024-01-01T00:00:00Z", "logFiles": []}
    result = cloudtrail.parse(json.dumps(digest).encode())
    assert result.accepted == 0
    assert result.rejected == [Rejection(1, None, "missing eventName")]


def test_a_broken_array_keeps_what_came_before() -> None:
    good = corpus_records(2)
    data = ("[\n" + json.dumps(good[0]) + ",\n" + json.dumps(good[1]) + ",\n{broken\n]").encode()
    result = cloudtrail.parse(data)
    assert result.accepted == 2
    (rejection,) = result.rejected
    assert (rejection.line, rejection.index) == (4, 2)
    assert "rest of the array was not read" in rejection.reason


def test_a_truncated_gzip_keeps_the_complete_lines() -> None:
    records = corpus_records(200)
    data = gzip.compress(jsonl(records))
    result = cloudtrail.parse(data[: len(data) // 2])
    assert 0 < result.accepted < 200
    assert result.rejected[-1].reason.startswith("input unreadable from here on")
    # Whatever was kept is whole: a line cut by the truncation is rejected, never half stored.
    assert all(json.loads(event.raw) in records for event in result.events)


def test_invalid_unicode_is_repaired_not_dropped() -> None:
    line = b'{"eventName":"GetObject","eventSource":"s3.amazonaws.com","userAgent":"a\\ud800b","k":"\xff"}\n'
    result = cloudtrail.parse(line + line)
    assert (result.accepted, result.repaired, result.rejected) == (2, 2, [])
    assert json.loads(result.events[0].raw)["userAgent"] == "a\ufffdb"
    result.events[0].raw.encode("utf-8")  # encodable: DuckDB accepts it


def test_a_bom_and_crlf_line_ends_are_accepted() -> None:
    records = corpus_records(3)
    data = b"\xef\xbb\xbf" + "\r\n".join(json.dumps(record) for record in records).encode()
    result = cloudtrail.parse(data)
    assert (result.accepted, result.rejected) == (3, [])


def test_rejections_count_by_reason_on_a_large_mixed_batch() -> None:
    good = corpus_records(50)
    lines = []
    for number in range(1, 2001):
        lines.append("{oops" if number % 100 == 0 else json.dumps(good[number % 50]))
    result = cloudtrail.parse("\n".join(lines).encode())
    assert result.accepted == 1980
    assert [r.line for r in result.rejected] == list(range(100, 2001, 100))
    assert Counter(r.reason.split(":")[0] for r in result.rejected) == {"invalid JSON": 20}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-07-31T12:46:41Z", datetime(2024, 7, 31, 12, 46, 41, tzinfo=UTC)),
        ("2024-07-31T14:46:41+02:00", datetime(2024, 7, 31, 12, 46, 41, tzinfo=UTC)),
        ("2024-07-31T12:46:41.123456789Z", datetime(2024, 7, 31, 12, 46, 41, 123456, tzinfo=UTC)),
        ("2024-07-31 12:46:41", datetime(2024, 7, 31, 12, 46, 41, tzinfo=UTC)),
        ("2024-07-31t12:46:41z", datetime(2024, 7, 31, 12, 46, 41, tzinfo=UTC)),
        (1722430001, datetime(2024, 7, 31, 12, 46, 41, tzinfo=UTC)),
        (1722430001.5, datetime(2024, 7, 31, 12, 46, 41, 500000, tzinfo=UTC)),
        ("1722430001", datetime(2024, 7, 31, 12, 46, 41, tzinfo=UTC)),
        (1722430001123, datetime(2024, 7, 31, 12, 46, 41, 123000, tzinfo=UTC)),
        ("1722430001123", datetime(2024, 7, 31, 12, 46, 41, 123000, tzinfo=UTC)),
        (1722430001123456, datetime(2024, 7, 31, 12, 46, 41, 123456, tzinfo=UTC)),
        (1722430001123456789, datetime(2024, 7, 31, 12, 46, 41, 123457, tzinfo=UTC)),
        ("yesterday", None),
        (True, None),
        (None, None),
        ({"t": 1}, None),
        (10**30, None),
    ],
)
def test_time_values(value: object, expected: datetime | None) -> None:
    assert parse_time(value) == expected
