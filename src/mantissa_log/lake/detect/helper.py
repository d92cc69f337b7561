"""The `hunt` command's helper: a process, forked at the command's start, that hunts half of a
mid-size input in Python on the other core (`text_halves`).

Forked before the command imports the hunt, while its process is small (`lake.forked`): it then
imports what its half needs while the command imports the rest, and waits for its order. Its half's
bytes are copied into memory mapped before the fork and shared with it (a pipe took 7-8 ms for 3 MB,
the copy takes 1); the order itself (where they lie, the rules: `text_halves.HalfOrder`) goes through
the pipe. This module imports nothing else of the hunt: the fork comes before those imports.

Started only by the command, for events that may be hunted in Python (`tiny.events_size`); the process
is the command's own, so the helper is a process-wide resource, taken by the one hunt that uses it.
Library callers (the API, tests in-process) never start one: their hunts run on one core.
"""

from __future__ import annotations

import mmap
from typing import TYPE_CHECKING

from mantissa_log.lake.forked import Child, start_child

if TYPE_CHECKING:
    from mantissa_log.lake.detect.text_halves import HalfAnswer, HalfOrder, Texts

Pieces = list[tuple[int, bytes]]  # (file id, UTF-8 bytes of whole lines)
Spans = list[tuple[int, int, int]]  # (file id, start, end) in the shared memory


class Helper:
    """The forked helper (`child`) and the memory it shares with this process (`share`)."""

    def __init__(self, child: Child[HalfOrder, HalfAnswer, Texts | None], shared: mmap.mmap) -> None:
        self.child = child
        self._shared = shared

    def share(self, pieces: Pieces) -> Spans | None:
        """These files' bytes copied where the helper reads them; None when they do not fit (the
        files grew since the command's start)."""
        spans: Spans = []
        at = 0
        for fid, data in pieces:
            if at + len(data) > len(self._shared):
                return None
            self._shared[at : at + len(data)] = data
            spans.append((fid, at, at + len(data)))
            at += len(data)
        return spans


_helper: list[Helper] = []
_shared: list[mmap.mmap] = []  # the child's view of the memory (the same mapping, inherited)


def start_helper(size: int) -> None:
    """Fork the helper (once), with room for `size` bytes of events, unless forking is not safe here
    (`lake.forked`) or the memory cannot be mapped."""
    if _helper:
        return
    try:
        shared = mmap.mmap(-1, max(size, 1))  # anonymous and shared: the child sees what is written
    except OSError:
        return
    _shared.append(shared)
    child: Child[HalfOrder, HalfAnswer, Texts | None] | None = start_child(_hunt_half, _prepare)
    if child is None:
        _shared.clear()
        shared.close()
        return
    _helper.append(Helper(child, shared))


def take_helper() -> Helper | None:
    """The helper, for the one hunt that uses it; None when there is none (or it was taken)."""
    return _helper.pop() if _helper else None


def _prepare() -> None:
    import mantissa_log.lake.detect.text_halves  # noqa: F401 (imported while the parent imports the hunt)


def _hunt_half(order: HalfOrder) -> tuple[HalfAnswer, Texts | None]:
    from mantissa_log.lake.detect.text_halves import hunt_half

    shared = _shared[0]
    texts = [(fid, shared[start:end].decode("utf-8")) for fid, start, end in order.spans]
    return hunt_half(texts, order.rules, order.envelope, order.structure)
