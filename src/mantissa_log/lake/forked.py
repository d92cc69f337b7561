"""Python work on the other core: a child process forked to run one order, its answer sent back.

Python passes hold the interpreter lock, so threads cannot share them out; a forked child can. It is
best forked early, while the process is small: every page both then hold is copied on its first write
by either (~2.6 us a page on this machine's VM; forked in the middle of a hunt, 4,000 pages more and
10-20 ms slower halves). So the child is started first, prepares (imports what its work needs) while
the parent goes on, and then waits for its order, pickled through a pipe (bulk data is better put in
memory mapped before the fork, which both then share: see `lake.detect.helper`).

Forking is safe only in a process with no other thread (a thread holding a lock at the fork leaves it
held for ever in the child), so `start_child` declines there, and off Linux (elsewhere fork without
exec is unsafe or missing). The child never returns into the caller's code: it runs its order, sends
its answer, waits to be asked for its extra (a second result the parent may or may not need, kept
until asked), and ends by `os._exit`, running no exit handler and flushing no buffer it shares with
its parent. A parent that never orders (or ends) closes the pipe, and the child ends with it; a child
that does not answer within ANSWER_SECONDS counts as failed.
"""

from __future__ import annotations

# Only what a fresh interpreter already holds is imported before the fork (the child is forked at the
# `hunt` command's very start: every module imported sooner is a page more to copy on write); `pickle`,
# `select` and the like are imported when a message is sent or read.
import contextlib
import os
import sys
from collections.abc import Callable
from typing import Generic, NoReturn, TypeVar, cast

Order = TypeVar("Order")
A = TypeVar("A")
E = TypeVar("E")

# Far beyond any order's work (a hunt's half of 8 MiB takes well under a second): only a bug could
# make a child this late, and the parent then does the work itself instead of hanging.
ANSWER_SECONDS = 60.0
_LENGTH_BYTES = 8
_WANT_EXTRA = b"e"


class Child(Generic[Order, A, E]):
    """A forked child waiting for one order; `answer` and `extra` read what it sends, `close` ends it."""

    def __init__(self, pid: int, answers: int, requests: int) -> None:
        self._pid = pid
        self._answers = answers  # read end: the child's messages
        self._requests = requests  # write end: the order, then perhaps a request for the extra
        self._closed = False

    def order(self, order: Order) -> bool:
        """Send the child its work; False when it is gone (it failed to prepare, or was closed)."""
        if self._closed:
            return False
        try:
            _send(self._requests, (True, order))
        except OSError:
            return False
        return True

    def answer(self) -> A | None:
        """The call's first result; None when the child failed (an exception, or it died)."""
        return cast("A | None", self._receive())

    def extra(self) -> E | None:
        """The call's second result, sent only now that it is asked for; None when the child failed."""
        try:
            os.write(self._requests, _WANT_EXTRA)
        except OSError:
            return None
        return cast("E | None", self._receive())

    def close(self) -> None:
        """End the child, done or not, and reap it (no zombie is left behind). Killed rather than waited
        for: once closed it has nothing left to do, and a parent that gave up on its order (its own half
        failed) would otherwise wait for the child's whole half."""
        if self._closed:
            return
        self._closed = True
        import signal

        os.close(self._requests)
        os.close(self._answers)
        with contextlib.suppress(ProcessLookupError, ChildProcessError):  # reaped already
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)

    def _receive(self) -> object:
        """The child's next value; None when it failed, ended, or is late."""
        import time

        message = _receive(self._answers, time.monotonic() + ANSWER_SECONDS)
        return None if message is None else message[1]


def start_child(
    work: Callable[[Order], tuple[A, E]], prepare: Callable[[], object] | None = None
) -> Child[Order, A, E] | None:
    """A forked child process that calls `prepare` at once, then `work` on the order it is sent; None
    when forking is not safe here (another thread runs, not Linux) or fails: the caller then does the
    work itself."""
    if sys.platform != "linux" or _threads() != 1:
        return None
    import fcntl

    try:
        answers_read, answers_write = os.pipe()
        requests_read, requests_write = os.pipe()
    except OSError:
        return None
    for fd in (answers_write, requests_write):  # a kept text of MBs in fewer turns than 64 KB ones
        with contextlib.suppress(OSError):  # beyond the system's pipe-max-size the default works, in more turns
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    try:
        pid = os.fork()
    except OSError:
        for fd in (answers_read, answers_write, requests_read, requests_write):
            os.close(fd)
        return None
    if pid == 0:  # pragma: no cover (the child's coverage is not collected; tests check what it sends)
        # The parent's ends closed here, or the child would hold its own order pipe open and never
        # see the parent's end of it.
        os.close(answers_read)
        os.close(requests_write)
        _pin_to_its_own_cpu()
        _run_child(work, prepare, answers_write, requests_read)
    os.close(answers_write)
    os.close(requests_read)
    return Child(pid, answers_read, requests_write)


def usable_cpus() -> int:
    """The CPUs this process may run on (fewer than the machine's under `taskset` or a container's set)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _threads() -> int:
    """The threads of this process, native ones too (a database engine's pool is not in `threading`)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0  # unknown: not safe to fork


def _pin_to_its_own_cpu() -> None:
    """Keep the child on one CPU of those the process may use. Woken by its order, a child is placed
    by the scheduler on its waker's CPU (the parent's, busy with its own half) and moved away only
    later: the halves then took 50 and 85 ms instead of about 55 each (measured, 5,000 lab events)."""
    if usable_cpus() > 1:
        with contextlib.suppress(OSError):  # the set may not be changed here: the scheduler places the child
            os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})


def _run_child(
    work: Callable[[Order], tuple[object, object]], prepare: Callable[[], object] | None, answers: int, requests: int
) -> NoReturn:
    """The child's whole life: prepare, wait for the order, run it, send the answer, send the extra if
    asked, end without cleanup (also when the parent closes the pipe instead of ordering)."""
    try:
        if prepare is not None:
            prepare()
        message = _receive(requests, None)  # None: the parent is done without us
        if message is not None:
            _answer(work, cast("Order", message[1]), answers, requests)
    except BaseException:  # noqa: S110 (a parent gone, a broken pipe: nothing is left to tell)
        pass
    finally:
        os._exit(0)


def _answer(work: Callable[[Order], tuple[object, object]], order: Order, answers: int, requests: int) -> None:
    try:
        answer, extra = work(order)
    except BaseException:  # any failure is told to the parent, which then does the work itself
        _send(answers, (False, None))
        return
    _send(answers, (True, answer))
    if os.read(requests, 1) == _WANT_EXTRA:
        _send(answers, (True, extra))


def _send(fd: int, message: tuple[bool, object]) -> None:
    import pickle

    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(len(body).to_bytes(_LENGTH_BYTES, "little") + body)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int, deadline: float | None) -> tuple[bool, object] | None:
    """One message: (False, None) when it tells of a failure, (True, its value) otherwise (a value may
    be None); None when the pipe ended or the deadline passed before it was whole."""
    import pickle

    head = _read_exactly(fd, _LENGTH_BYTES, deadline)
    if head is None:
        return None
    body = _read_exactly(fd, int.from_bytes(head, "little"), deadline)
    if body is None:
        return None
    ok, value = pickle.loads(body)  # noqa: S301 (our own process's bytes, through a private pipe)
    return (True, value) if ok else (False, None)


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes | None:
    import select
    import time

    chunks: list[bytes] = []
    left = size
    while left:
        if deadline is not None and not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            return None  # too late
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None  # the child ended before sending it all
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
