"""Numbers Python will not convert (over 4,300 digits) cost their own record, never the batch."""

from __future__ import annotations

import json
import sys

from mantissa_log.lake import parse

HUGE = "9" * (sys.get_int_max_str_digits() + 700)
REASON = f"a number has more than {sys.get_int_max_str_digits()} digits"


def rejections(result: object) -> list[tuple[int | None, int | None, str]]:
    return [(r.line, r.index, r.reason) for r in result.rejected]  # type: ignore[attr-defined]


def test_json_lines_lose_only_the_line() -> None:
    data = f'{{"a": 1}}\n{{"n": {HUGE}}}\n{{"a": 3}}\n'.encode()
    result = parse("json", data)
    assert result.accepted == 2
    assert rejections(result) == [(2, None, REASON)]


def test_an_array_loses_only_the_element() -> None:
    data = f'[{{"a": 1}}, {{"n": [{HUGE}]}}, {{"a": 3}}]'.encode()
    result = parse("json", data)
    assert [json.loads(e.raw) for e in result.events] == [{"a": 1}, {"a": 3}]
    assert rejections(result) == [(1, 1, REASON)]


def test_pretty_printed_documents_lose_only_the_document() -> None:
    data = f'{{\n  "a": 1\n}}\n{{"n": {HUGE}}}\n{{\n  "a": 3\n}}\n'.encode()
    result = parse("json", data)
    assert result.accepted == 2
    assert rejections(result) == [(4, None, REASON)]


def test_a_huge_epoch_is_no_time_rather_than_an_error() -> None:
    for value in ("9" * 4000, f'"{HUGE}"'):
        line = f'{{"eventTime": {value}, "eventName": "x", "eventSource": "s", "eventID": "1"}}\n'
        result = parse("cloudtrail", line.encode())
        assert result.accepted == 1
        assert result.events[0].event_time is None
