"""Read uploaded bytes as lines or JSON values, gzipped or not, without building many copies.

Gzip is recognised by its magic bytes (names lie: S3 delivers `.json.gz`, people upload `.json`
that is gzipped and the reverse). Lines are read one at a time from the (decompressing) stream,
so a 1 GB JSON-lines upload costs the upload itself plus the events kept, not a list of lines.
A JSON array, or one object pretty-printed over several lines, is read as a whole document
(decoded once to text, then one value at a time with `raw_decode`).

Text is decoded as UTF-8 with `surrogateescape`: a stray invalid byte becomes a lone surrogate
that `fields.canonical_json` replaces by U+FFFD (counted as repaired) instead of losing the event.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zlib
from collections.abc import Generator, Iterator
from typing import Any, BinaryIO

from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParseResult

GZIP_MAGIC = b"\x1f\x8b"
_WS = re.compile(r"[ \t\n\r]*")
_TOP_LEVEL = re.compile(r"\n[\[{]")
_TYPE_NAMES = {list: "an array", dict: "an object", str: "a string", int: "a number", float: "a number"}
_DECODER = json.JSONDecoder()


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


# Deflate expands at most ~1032:1; JSON logs compress 5-20:1, repeated identical events ~100-200:1.
# Past RATIO_GRACE bytes of output, a stream expanding more than MAX_RATIO times is a bomb: refused
# there, instead of after decompressing all the way to the cap.
MAX_RATIO = 500
RATIO_GRACE = 256 << 10


class DecompressedTooLarge(Exception):
    """A gzip stream produced more than its cap, or expands like a bomb; the message says which."""


def expansion_check(produced: int, consumed: int, limits: IngestLimits) -> str | None:
    """Why a gzip stream must stop here (its output so far vs the compressed input read), or None."""
    if produced > limits.decompressed_bytes:
        return too_large_reason(limits)
    if produced > RATIO_GRACE and produced > MAX_RATIO * max(consumed, 1):
        return (
            f"the input decompresses more than {MAX_RATIO} times its compressed size (a decompression bomb); "
            "the rest was not read"
        )
    return None


class Inflater(io.RawIOBase):
    """Gzip decompression (one or more members) that knows exactly how much compressed input it used.

    `gzip.GzipFile` reads its input 128 KB ahead, which hides how far a stream has really expanded;
    this reads 64 KB at a time and counts what the decompressor consumed.
    """

    CHUNK = 64 << 10

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.read_from_source = 0
        self._pending = b""
        self._inflate = zlib.decompressobj(31)

    @property
    def consumed(self) -> int:
        return self.read_from_source - len(self._pending)

    def readable(self) -> bool:
        return True

    def _more(self) -> bytes:
        chunk = self.source.read(self.CHUNK)
        self.read_from_source += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while True:
            if self._inflate.eof:
                self._pending = self._inflate.unused_data or self._more()
                if not self._pending:
                    return 0  # the end, after a complete member
                self._inflate = zlib.decompressobj(31)  # the next member of a concatenated stream
            if not self._pending:
                self._pending = self._more()
                if not self._pending:
                    raise EOFError("compressed file ended before the end-of-stream marker was reached")
            out = self._inflate.decompress(self._pending, len(view))
            self._pending = self._inflate.unused_data if self._inflate.eof else self._inflate.unconsumed_tail
            if out:
                view[: len(out)] = out
                return len(out)


class CappedStream:
    """A decompressing stream that refuses to produce more than its cap, or to expand like a bomb.

    Every read names its size (the reader never asks for "everything"), so what is held at once
    is bounded by that size, and a bomb stops early instead of at the memory limit.
    """

    def __init__(self, compressed: BinaryIO, limits: IngestLimits) -> None:
        self.inflater = Inflater(compressed)
        self.inner = io.BufferedReader(self.inflater, buffer_size=Inflater.CHUNK)
        self.limits = limits
        self.produced = 0

    def _counted(self, data: bytes) -> bytes:
        self.produced += len(data)
        reason = expansion_check(self.produced, self.inflater.consumed, self.limits)
        if reason is not None:
            raise DecompressedTooLarge(reason)
        return data

    def readline(self, size: int) -> bytes:
        return self._counted(self.inner.readline(size))

    def read(self, size: int) -> bytes:
        return self._counted(self.inner.read(size))


Stream = io.BufferedIOBase | CappedStream
SKIP_BLOCK = 1 << 20


def open_input(data: bytes, limits: IngestLimits = DEFAULT_LIMITS) -> Stream:
    if data[:2] == GZIP_MAGIC:
        return CappedStream(io.BytesIO(data), limits)
    return io.BytesIO(data)  # shares the bytes, no copy


def decode(line: bytes) -> str:
    return line.decode("utf-8", "surrogateescape")


def too_large_reason(limits: IngestLimits) -> str:
    return (
        f"the input decompresses to more than {limits.decompressed_bytes} bytes "
        "(MANTISSA_MAX_DECOMPRESSED_BYTES); the rest was not read"
    )


def _skip_line(stream: Stream) -> None:
    """Read past the rest of an over-long line, a block at a time, keeping nothing."""
    while True:
        block = stream.readline(SKIP_BLOCK)
        if not block or block.endswith(b"\n"):
            return


def iter_lines(
    stream: Stream, result: ParseResult, limits: IngestLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line) until the end, or until a corrupt, truncated or oversized gzip stream.

    A line longer than `limits.line_bytes` is refused and skipped without ever being held whole.
    """
    number = 0
    cap = limits.line_bytes
    try:
        while line := stream.readline(cap + 1):
            number += 1
            if len(line) > cap and not line.endswith(b"\n"):
                result.reject(number, None, f"line longer than {cap} bytes (MANTISSA_MAX_LINE_BYTES); skipped")
                _skip_line(stream)
                continue
            yield number, line
    except DecompressedTooLarge as exc:
        result.reject(number + 1, None, str(exc), always=True)
    except (OSError, EOFError, zlib.error) as exc:
        result.reject(number + 1, None, f"input unreadable from here on: {exc}", always=True)


def _document_too_large(number: int, result: ParseResult, limits: IngestLimits) -> str:
    reason = (
        f"a JSON document (an array, or an object over several lines) longer than {limits.line_bytes} bytes "
        "(MANTISSA_MAX_LINE_BYTES) is not read; send JSON lines"
    )
    result.reject(number, None, reason)
    return ""


def _rest_text(stream: Stream, data: bytes, line: bytes, number: int, result: ParseResult, limits: IngestLimits) -> str:
    """The text from the start of `line` to the end of the input, if it is within the line cap."""
    if isinstance(stream, io.BytesIO):
        # Decode straight from the upload: no intermediate bytes copy of a large array.
        start = stream.tell() - len(line)
        if len(data) - start > limits.line_bytes:
            return _document_too_large(number, result, limits)
        return str(memoryview(data)[start:], "utf-8", "surrogateescape")
    try:
        rest = stream.read(limits.line_bytes + 1 - len(line))
        if len(line) + len(rest) > limits.line_bytes:
            return _document_too_large(number, result, limits)
    except DecompressedTooLarge as exc:
        result.reject(number, None, str(exc), always=True)
        return ""
    except (OSError, EOFError, zlib.error) as exc:
        result.reject(number, None, f"input unreadable after line {number}: {exc}")
        rest = b""
    return decode(line + rest)


def _skip(text: str, pos: int) -> int:
    """The first position at or after `pos` that is not JSON whitespace."""
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _json_error(exc: ValueError | RecursionError, first_line: int | None = None) -> str:
    """The decoder's message; in a document, with the absolute line where decoding failed."""
    if isinstance(exc, RecursionError):
        return "invalid JSON: nested too deeply"
    if not isinstance(exc, json.JSONDecodeError):
        # Python refuses to convert integers longer than sys.get_int_max_str_digits() (4,300).
        return f"a number has more than {sys.get_int_max_str_digits()} digits"
    if first_line is None:
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    return f"invalid JSON: {exc.msg} (line {first_line + exc.lineno - 1}, column {exc.colno})"


NOT_JSON = object()


def parse_line(text: str, number: int, result: ParseResult) -> Any:
    """The JSON value of one line, or NOT_JSON after recording why not."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        result.reject(number, None, _json_error(exc))
        return NOT_JSON


def spread(value: Any, number: int) -> Iterator[tuple[Any, int, int | None]]:
    if isinstance(value, list):
        for index, element in enumerate(value):
            yield element, number, index
    elif value is not NOT_JSON:
        yield value, number, None


def iter_values(
    data: bytes, result: ParseResult, limits: IngestLimits = DEFAULT_LIMITS
) -> Iterator[tuple[Any, int, int | None]]:
    """Top-level JSON values as (value, line, index); elements of arrays carry their index.

    JSON lines (blank lines skipped), a JSON array, concatenated or pretty-printed documents are
    all accepted; what cannot be read is recorded in `result.rejected` with its line.
    """
    stream = open_input(data, limits)
    lines = iter_lines(stream, result, limits)
    for number, line in lines:
        text = decode(line).strip().lstrip("\ufeff")
        if not text:
            continue
        # An array, or an object that does not end on its first line (pretty-printed): read the
        # rest as one document. Otherwise it is JSON lines.
        if text[0] == "[" or (text[0] == "{" and not is_json(text)):
            document = _rest_text(stream, data, line, number, result, limits).lstrip("\ufeff")
            yield from _document_values(document, number, result)
            return
        yield from spread(parse_line(text, number, result), number)
        for later, line_bytes in lines:
            later_text = decode(line_bytes).strip()
            if later_text:
                yield from spread(parse_line(later_text, later, result), later)
        return


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


class _Lines:
    """Line numbers of positions in a text, for positions visited in increasing order."""

    def __init__(self, text: str, first: int) -> None:
        self.text, self.pos, self.line = text, 0, first

    def at(self, pos: int) -> int:
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _document_values(text: str, first_line: int, result: ParseResult) -> Iterator[tuple[Any, int, int | None]]:
    lines = _Lines(text, first_line)
    pos = _skip(text, 0)
    while pos < len(text):
        line = lines.at(pos)
        if text[pos] == "[":
            end = yield from _array_values(text, pos, lines, first_line, result)
            if end is None:
                return
            pos = end
        else:
            try:
                value, pos = _DECODER.raw_decode(text, pos)
            except (ValueError, RecursionError) as exc:
                result.reject(line, None, _json_error(exc, first_line))
                # Resynchronise on the next line that opens an object or array at column 0: the
                # next JSON line, or the next top-level document of a pretty-printed stream.
                restart = _TOP_LEVEL.search(text, pos + 1)
                if restart is None:
                    return
                pos = restart.start() + 1
            else:
                yield value, line, None
        pos = _skip(text, pos)


# Reads integers as their length, never converting them: finds where a value ends whose integer
# Python refuses to convert (over sys.get_int_max_str_digits() digits), so reading goes on after it.
_SKIPPER = json.JSONDecoder(parse_int=len)


def _end_of_long_number_value(exc: ValueError | RecursionError, text: str, pos: int) -> int | None:
    if isinstance(exc, json.JSONDecodeError | RecursionError):
        return None
    try:
        return _SKIPPER.raw_decode(text, pos)[1]
    except (ValueError, RecursionError):
        return None


def _array_values(
    text: str, pos: int, lines: _Lines, first_line: int, result: ParseResult
) -> Generator[tuple[Any, int, int | None], None, int | None]:
    """Elements of the array starting at `pos`; returns the position after it, None if broken."""
    index = 0
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return pos + 1
    while True:
        line = lines.at(pos)
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            end = _end_of_long_number_value(exc, text, pos)
            if end is None:
                result.reject(line, index, f"{_json_error(exc, first_line)}; the rest of the array was not read")
                return None
            result.reject(line, index, _json_error(exc, first_line))  # only this element is lost
            pos = end
        else:
            yield value, line, index
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
            index += 1
        elif text.startswith("]", pos):
            return pos + 1
        else:
            reason = "invalid JSON: expected ',' or ']' after the element; the rest of the array was not read"
            result.reject(lines.at(pos), index + 1, reason)
            return None
