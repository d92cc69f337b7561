"""Staging a file for the native (DuckDB) ingest: the file itself, or decompressed copies in pieces.

DuckDB reads a piece of the input as one string: past 2^31 bytes that degrades badly, so larger
inputs (and every gzip input, decompressed on the way) are cut into pieces at line ends.

While copying, the reader's caps hold (`IngestLimits`), with the Python path's answers:

- a gzip stream stops at `decompressed_bytes`: the complete lines before the cap are kept and one
  rejection says the rest was not read;
- a line longer than `line_bytes` is never held whole: it becomes an empty line in the copy (line
  numbers stay those of the input) and is refused by line.

A plain file small enough to be one piece is read in place (through a link) when none of its lines
is over the cap, which `_longest_line_over` finds in O(size / cap) steps.
"""

from __future__ import annotations

import io
import mmap
import os
import shutil
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mantissa_log.lake.model import IngestLimits, Rejection
from mantissa_log.lake.reader import GZIP_MAGIC, Inflater, expansion_check

PIECE_BYTES = 1536 << 20
_COPY_BLOCK = 8 << 20
_GZIP_BLOCK = 256 << 10
_HARD_LIMIT = (2 << 30) - (64 << 20)


class NotNative(Exception):
    """The input cannot be read natively (see `lake.native`); use the Python path."""


@dataclass(frozen=True)
class Piece:
    path: Path
    first_line: int  # number of the piece's first line in the whole input, minus one
    # No carriage return and no \x01 byte: DuckDB's CSV reader (parallel, twice as fast as splitting
    # the text) then cuts exactly the lines Python reads (it also ends lines at `\r`).
    csv_safe: bool = False


@dataclass
class Staged:
    pieces: list[Piece]
    rejected: list[Rejection] = field(default_factory=list)  # lines refused while copying


def long_line_reason(limits: IngestLimits) -> str:
    return f"line longer than {limits.line_bytes} bytes (MANTISSA_MAX_LINE_BYTES); skipped"


@contextmanager
def staged(path: Path, workdir: Path, limits: IngestLimits) -> Iterator[Staged]:
    """The input as pieces DuckDB can read (see the module docstring).

    DuckDB's readers take globs: a link with a plain name keeps `[`, `*` and `?` in user file names
    literal. Raises NotNative for a corrupt or truncated gzip stream.
    """
    folder = workdir / f"native-{os.getpid()}-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    try:
        with path.open("rb") as handle:
            gzipped = handle.read(2) == GZIP_MAGIC
        in_place = not gzipped and path.stat().st_size <= PIECE_BYTES and not _has_long_line(path, limits.line_bytes)
        if in_place:
            link = folder / "input"
            try:
                os.symlink(path.resolve(), link)
            except OSError:
                if any(char in str(path) for char in "*?[{"):
                    raise NotNative("no link for a file name DuckDB would read as a glob") from None
                link = path
            yield Staged([Piece(link, 0, _csv_safe(link))])
        else:
            yield _Cutter(folder, limits).cut(path, gzipped=gzipped)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _has_long_line(path: Path, cap: int) -> bool:
    """Whether some line is longer than `cap`, looking back from `cap` bytes ahead at each step."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= cap:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            start = 0
            while size - start > cap:
                newline = mapped.rfind(b"\n", start, start + cap + 1)
                if newline < 0:
                    return True
                start = newline + 1
    return False


def _csv_safe(path: Path) -> bool:
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return True
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return mapped.find(b"\r") < 0 and mapped.find(b"\x01") < 0


class _Cutter:
    """Copies (decompressing) the input into pieces of about PIECE_BYTES ending at line ends."""

    def __init__(self, folder: Path, limits: IngestLimits) -> None:
        self.folder = folder
        self.limits = limits
        self.staged = Staged([])
        self.lines = 0  # newlines written: the number of the line in progress, minus one
        self.out: BinaryIO | None = None
        self.written = 0

    def cut(self, path: Path, *, gzipped: bool) -> Staged:
        cap = self.limits.line_bytes
        # Blocks no longer than the cap: a line wholly inside one block is shorter than the cap, so
        # only the line running across blocks (held in `pending` until its newline) is measured.
        # Gzip in smaller blocks: a bomb is seen (expansion_check) before much of it is copied.
        block_size = min(_GZIP_BLOCK if gzipped else _COPY_BLOCK, cap)
        pending = b""
        skipping = False  # inside a line already refused as too long
        produced = 0
        try:
            with path.open("rb") as raw:
                inflater = Inflater(raw) if gzipped else None
                source = raw if inflater is None else io.BufferedReader(inflater, buffer_size=Inflater.CHUNK)
                while block := source.read(block_size):
                    produced += len(block)
                    stop = None if inflater is None else expansion_check(produced, inflater.consumed, self.limits)
                    over = stop is not None
                    if over:
                        # Keep the complete lines within the cap (none of a block that shows a bomb).
                        allowed = max(0, self.limits.decompressed_bytes - (produced - len(block)))
                        allowed = min(len(block), allowed) if produced > self.limits.decompressed_bytes else 0
                        block = block[:allowed]
                        block = block[: block.rfind(b"\n") + 1]
                    last = block.rfind(b"\n")
                    if last < 0:
                        if not skipping and not over:
                            pending += block
                            if len(pending) > cap:
                                self._refuse_line()
                                pending, skipping = b"", True
                    else:
                        first = block.find(b"\n")
                        if skipping or len(pending) + first > cap:
                            if not skipping:
                                self._refuse_line()
                            self._emit(b"\n")  # the refused line stays, empty, so numbering holds
                        else:
                            self._emit(pending + block[: first + 1])
                        skipping = False
                        self._emit(block[first + 1 : last + 1])
                        pending = block[last + 1 :]
                    if over:
                        # The first line not read: after the refused line still being skipped, if any.
                        first_unread = self.lines + (2 if skipping else 1)
                        self.staged.rejected.append(Rejection(first_unread, None, str(stop)))
                        pending = b""
                        break
                if pending and not skipping:
                    self._emit(pending)  # a last line without a newline
        except (OSError, EOFError, zlib.error) as exc:
            raise NotNative(f"input unreadable: {exc}") from exc
        finally:
            if self.out is not None:
                self.out.close()
        self.staged.pieces = [Piece(p.path, p.first_line, _csv_safe(p.path)) for p in self.staged.pieces]
        return self.staged

    def _refuse_line(self) -> None:
        self.staged.rejected.append(Rejection(self.lines + 1, None, long_line_reason(self.limits)))

    def _emit(self, data: bytes) -> None:
        while data:
            if self.out is None:
                target = self.folder / f"piece-{len(self.staged.pieces)}"
                self.out = target.open("wb")
                self.staged.pieces.append(Piece(target, self.lines))
                self.written = 0
            # Past PIECE_BYTES, the piece ends at the next newline.
            over = self.written + len(data) > PIECE_BYTES
            cut = data.find(b"\n", max(0, PIECE_BYTES - self.written)) if over else -1
            head, data = (data, b"") if cut < 0 else (data[: cut + 1], data[cut + 1 :])
            self.out.write(head)
            self.written += len(head)
            self.lines += head.count(b"\n")
            if self.written > _HARD_LIMIT:
                raise NotNative("a line too long to read natively")
            if cut >= 0:
                self.out.close()
                self.out = None
