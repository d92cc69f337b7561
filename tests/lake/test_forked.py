"""A forked child running one order (`lake.forked`): it answers, sends its extra only when asked, fails
as None, ends when its parent closes it, and is never forked beside another thread.

The forks run in a fresh interpreter of their own (`_run`): the test process has other threads (the
test runner's), beside which `start_child` rightly declines."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from mantissa_log.lake.forked import start_child

_PRELUDE = """
import json, os, sys
from mantissa_log.lake.forked import start_child

def double(order):
    return [value * 2 for value in order], {"pid": os.getpid(), "sum": sum(order)}

def fail(order):
    raise ValueError("no")

def die(order):
    os._exit(3)

def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

out = {}
"""


def _run(body: str) -> dict[str, Any]:
    script = _PRELUDE + textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_child_answers_its_order_and_sends_its_extra_only_when_asked() -> None:
    out = _run(
        """
        child = start_child(double)
        out["ordered"] = child.order([1, 2, 3])
        out["answer"] = child.answer()
        extra = child.extra()
        out["other_process"] = extra["pid"] != os.getpid()
        out["sum"] = extra["sum"]
        pid = child._pid
        child.close()
        out["alive_after_close"] = alive(pid)
        """
    )
    assert out == {"ordered": True, "answer": [2, 4, 6], "other_process": True, "sum": 6, "alive_after_close": False}


def test_a_child_whose_work_fails_or_which_dies_answers_none() -> None:
    out = _run(
        """
        failing = start_child(fail)
        failing.order([1])
        out["failed"] = failing.answer()
        failing.close()
        dying = start_child(die)
        dying.order([1])
        out["died"] = dying.answer()
        out["died_extra"] = dying.extra()
        dying.close()
        """
    )
    assert out == {"failed": None, "died": None, "died_extra": None}


def test_a_child_never_ordered_prepares_and_ends_when_closed() -> None:
    out = _run(
        """
        import tempfile, time
        mark = os.path.join(tempfile.mkdtemp(), "mark")
        child = start_child(double, lambda: open(mark, "w").close())
        deadline = time.monotonic() + 30
        while not os.path.exists(mark) and time.monotonic() < deadline:
            time.sleep(0.01)
        out["prepared"] = os.path.exists(mark)
        pid = child._pid
        child.close()
        out["alive_after_close"] = alive(pid)
        out["order_after_close"] = child.order([1])
        """
    )
    assert out == {"prepared": True, "alive_after_close": False, "order_after_close": False}


def test_a_child_gone_before_its_order_refuses_it() -> None:
    out = _run(
        """
        import signal
        child = start_child(double)
        os.kill(child._pid, signal.SIGKILL)
        os.waitid(os.P_PID, child._pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped (close reaps it)
        out["ordered"] = child.order([1, 2])
        out["answer"] = child.answer()
        child.close()
        """
    )
    assert out == {"ordered": False, "answer": None}


def test_a_child_runs_on_one_cpu_of_those_its_parent_may_use() -> None:
    """Pinned, so that woken by its order it is not run on its parent's CPU, busy with its own half."""
    out = _run(
        """
        child = start_child(lambda order: (sorted(os.sched_getaffinity(0)), None))
        child.order(None)
        out["child"] = child.answer()
        out["parent"] = sorted(os.sched_getaffinity(0))
        child.close()
        """
    )
    if len(out["parent"]) > 1:
        assert len(out["child"]) == 1
        assert set(out["child"]) <= set(out["parent"])
    else:
        assert out["child"] == out["parent"]


def test_a_child_later_than_the_deadline_counts_as_failed_and_is_ended() -> None:
    out = _run(
        """
        import time
        import mantissa_log.lake.forked as forked
        forked.ANSWER_SECONDS = 0.3
        child = start_child(lambda order: (time.sleep(30), None))
        pid = child._pid
        child.order(None)
        started = time.monotonic()
        out["answer"] = child.answer()
        out["waited_under_5s"] = time.monotonic() - started < 5
        child.close()
        out["alive_after_close"] = alive(pid)
        """
    )
    assert out == {"answer": None, "waited_under_5s": True, "alive_after_close": False}


def test_no_child_is_forked_beside_another_thread() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait, name="other")
    other.start()
    try:
        assert start_child(lambda order: (order, order)) is None
    finally:
        release.set()
        other.join()


def test_a_child_ends_when_its_parent_ends_without_closing_it() -> None:
    """The hunt command ends its process at once (`os._exit`), closing nothing: the child, waiting
    for an order, must see the pipe end and end too (it holds no write end of its own order pipe)."""
    out = _run(
        """
        child = start_child(double)
        out["pid"] = child._pid
        """
    )
    deadline = time.monotonic() + 30
    while _running(out["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _running(out["pid"])


def _running(pid: int) -> bool:
    """Whether the process exists and has not ended (an ended child nobody reaps stays a zombie)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "zombie" not in state and " Z " not in state + " "
