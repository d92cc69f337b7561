"""`at_once`: calls on threads of their own, results in order, an error raised once all have ended."""

from __future__ import annotations

import threading

import pytest

from mantissa_log.lake.at_once import at_once


def test_results_come_back_in_the_calls_order_whatever_ends_first() -> None:
    second_done = threading.Event()

    def first() -> str:
        assert second_done.wait(10)  # the first call ends last: both ran at once
        return "first"

    def second() -> str:
        second_done.set()
        return "second"

    assert at_once([first, second], name="test") == ["first", "second"]


def test_an_error_is_raised_only_once_every_call_has_ended() -> None:
    failed = threading.Event()
    finished: list[str] = []

    def failing() -> None:
        failed.set()
        raise ValueError("broken half")

    def slow() -> None:
        assert failed.wait(10)
        finished.append("slow")

    with pytest.raises(ValueError, match="broken half"):
        at_once([failing, slow], name="test")
    assert finished == ["slow"]  # not abandoned while still running
