"""The timestamp texts every record carries (`clock.iso`, `clock.iso_us`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mantissa_log.clock import iso, iso_us, parse_iso


@pytest.mark.parametrize(
    ("moment", "seconds", "micros"),
    [
        (datetime(2026, 11, 27, 10, 0, 0, 123456, UTC), "2026-11-27T10:00:00Z", "2026-11-27T10:00:00.123456Z"),
        (datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC), "2026-11-27T10:00:00Z", "2026-11-27T10:00:00.000000Z"),
        # naive means UTC; an offset is converted
        (datetime(2026, 1, 2, 3, 4, 5, 6), "2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000006Z"),
        (
            datetime(2026, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            "2025-12-31T23:30:00Z",
            "2025-12-31T23:30:00.000000Z",
        ),
        # four-digit years always, so the texts sort as the moments do
        (datetime(999, 5, 6, 7, 8, 9, tzinfo=UTC), "0999-05-06T07:08:09Z", "0999-05-06T07:08:09.000000Z"),
    ],
)
def test_texts(moment: datetime, seconds: str, micros: str) -> None:
    assert iso(moment) == seconds
    assert iso_us(moment) == micros
    assert parse_iso(micros) == parse_iso(iso_us(moment))


def test_texts_sort_as_the_moments_do() -> None:
    moments = [datetime(year, 1, 1, tzinfo=UTC) for year in (5, 99, 999, 1000, 2026)]
    moments += [datetime(2026, 1, 1, 0, 0, 0, us, UTC) for us in (1, 10, 999_999)]
    assert sorted(moments, key=iso_us) == sorted(moments)
