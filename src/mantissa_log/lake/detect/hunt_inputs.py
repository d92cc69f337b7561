"""The events files of a hunt: read once, their sources sniffed, their reader chosen.

Files are held in memory whole up to HELD_BYTES in all (sniffing, the reader's choice and the
envelope search read them once); past that, a big JSON-lines file (or a gzip file's inflated text)
is read in chunks and never held, DuckDB reading it itself. Gzip files are inflated within the
lake's caps into the hunt's scratch folder, made on first use.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from pathlib import Path

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.fields import lookup
from mantissa_log.lake.model import DEFAULT_LIMITS, ParseResult
from mantissa_log.lake.parsers import JSON_PARSERS, parse
from mantissa_log.lake.reader import GZIP_MAGIC, DecompressedTooLarge, iter_lines, open_input

# Sniffing a file's source reads at most this much of it.
SNIFF_BYTES = 1 << 20
# Small files (up to this size) are always held whole, and their lines reach DuckDB whole (handed over,
# or `read_text`): for hundreds of small files that is faster than the CSV reader's per-file set-up.
# Bigger files go to the CSV reader, which splits one file across threads (read_text is 7x slower on a
# 40 MB file).
SMALL_FILE_BYTES = 1 << 20
# Files are held in memory whole (read once: sniffing, the reader's choice, the envelope search) up to
# this much in all; a big plain file beyond it is only read in chunks, so memory does not grow with
# the capture (1M CloudTrail events: 1.47 GB -> 0.40 GB peak), at the price of a second read of it
# when its source has envelopes to look for.
HELD_BYTES = 256 << 20


class EventsFile:
    """One events file: what choosing its sources and its reader needs, and its text on demand.

    Files are held whole up to HELD_BYTES in all. Beyond, a big file of JSON lines is not held (DuckDB
    reads it): one pass in chunks finds what the hunt needs to know of it (`_streamed`). A file that is
    not JSON lines is read whole anyway, as its parser needs it whole."""

    def __init__(
        self,
        path: Path,
        read_path: Path,
        size: int,
        head: bytes,
        first: dict[str, object] | None,
        data: bytes | None = None,
    ) -> None:
        self.path = path  # as given (findings name it)
        self.read_path = read_path  # what DuckDB reads: `path`, or a gzip file's inflated text in the scratch
        self.size = size  # bytes of text
        self.head = head  # its first SNIFF_BYTES
        self.first = first  # its first line's object when it is JSON lines (parsed once, also for sniffing)
        self._data = data  # None: a big file of JSON lines, read by DuckDB, never held whole
        self._holds_key: dict[str, bool] = {}
        self._text: str | None = None

    @property
    def lines(self) -> bool:
        """JSON lines DuckDB can read (else: the source's Python parser reads it)."""
        return self.first is not None

    @property
    def data(self) -> bytes:
        """The whole text (a gzip file's inflated text), read now when it was not kept."""
        if self._data is None:
            self._data = self.read_path.read_bytes()
        return self._data

    def text(self) -> str:
        """The UTF-8 text, decoded once (both half-scans of a small hunt hand the same text to DuckDB);
        UnicodeDecodeError when it is not UTF-8."""
        if self._text is None:
            self._text = self.data.decode("utf-8")
        return self._text

    def may_hold_key(self, key: str) -> bool:
        """Whether some object of the text may have the member `key`: its quoted name appears (a
        superset, which only costs the scan the unnesting of envelopes when wrong). A file not held
        whole is searched in chunks (~0.5 s per GB: a plain search for a needle ending in a quote,
        JSON's commonest character)."""
        quoted = b'"' + key.encode() + b'"'
        if self._data is not None:
            return quoted in self._data
        if key not in self._holds_key:
            self._holds_key[key] = _file_holds(self.read_path, quoted)
        return self._holds_key[key]


def first_record(data: bytes) -> dict[str, object] | None:
    """The first JSON object of the input (for choosing its sources); None when there is none.

    The first non-blank line is read whole, however long (up to the lake's line cap): a CloudTrail
    delivery is one `{"Records": [...]}` line of several MB, and a head cut short of its end is not
    JSON, which made the whole file look like no source's (and silently unhunted)."""
    result = ParseResult("json")  # where iter_lines notes a line it refuses; a sniff ignores them
    for _, line in iter_lines(open_input(data), result):
        text = line.strip().lstrip(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
        if not text:
            continue
        if text.startswith("{"):
            value = _json_object(text)
            if value is not None:
                return value
        break
    # A JSON array or a pretty-printed document: the generic reader finds its first object.
    parsed = parse("json", data)
    first = json.loads(parsed.events[0].raw) if parsed.events else None
    if isinstance(first, dict):
        return first
    # A document the generic reader refuses whole (a pretty-printed delivery over its 1 MiB event cap):
    # its envelope's first member, read from the head alone (the source's own parser reads the rest).
    try:
        head = open_input(data).read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error, DecompressedTooLarge):  # damaged gzip: no source can read it
        return None
    return _envelope_head(head.decode("utf-8", errors="replace"))


def _envelope_head(text: str) -> dict[str, object] | None:
    """`{key: [first member]}` of a document that opens as `{"key": [{...}, ...`; None otherwise."""
    decoder = json.JSONDecoder()
    at = _past_blanks(text, 0)
    if not text.startswith("{", at):
        return None
    try:
        key, at = decoder.raw_decode(text, _past_blanks(text, at + 1))
        at = _past_blanks(text, at)
        if not isinstance(key, str) or not text.startswith(":", at):
            return None
        at = _past_blanks(text, at + 1)
        if not text.startswith("[", at):
            return None
        member, _ = decoder.raw_decode(text, _past_blanks(text, at + 1))
    except (json.JSONDecodeError, RecursionError):
        return None
    return {key: [member]} if isinstance(member, dict) else None


def _past_blanks(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n\ufeff":
        at += 1
    return at


def _accepts(source: str, record: dict[str, object] | None, head: bytes) -> bool:
    """Whether `source`'s check accepts the file's first record (or the first of its envelope)."""
    if source == "json":
        return record is not None
    if source == "vpcflow":
        return record is None and bool(parse("vpcflow", head).events)
    parser = JSON_PARSERS.get(source)
    if record is None or parser is None:
        return False
    inner = record.get(parser.envelope) if parser.envelope else None
    if isinstance(inner, list) and inner and isinstance(inner[0], dict):
        record = inner[0]
    return parser.check is None or parser.check(record) is None


def _has_own_id(source: str, record: dict[str, object] | None) -> bool:
    if record is None:
        return False
    return any(lookup(record, name) not in (None, "") for name in SOURCES[source].id_fields)


def sources_of(record: dict[str, object] | None, head: bytes, wanted: Sequence[str]) -> set[str]:
    """The sources a file (its first record, its first SNIFF_BYTES) is read as. Checks overlap (a
    CloudTrail record has an `eventType`, as Okta's do): when some accepting sources also find their
    own id field in the record, only those (and generic JSON) read it, so a CloudTrail capture is not
    hunted again as Okta."""
    accepted = {source for source in wanted if _accepts(source, record, head)}
    typed = accepted - {"json"}
    with_id = {source for source in typed if _has_own_id(source, record)}
    return (with_id or typed) | (accepted & {"json"})


class Scratch:
    """The hunt's folder for inflated gzip inputs, made on first use: `tempfile` (with `shutil`) costs
    ~6 ms to import, a few per cent of a small hunt that has no gzip input to inflate."""

    def __init__(self) -> None:
        self._folder: Path | None = None

    def file(self, name: str) -> Path:
        if self._folder is None:
            import tempfile

            self._folder = Path(tempfile.mkdtemp(prefix="mantissa-hunt-"))
        return self._folder / name

    def remove(self) -> None:
        if self._folder is not None:
            import shutil

            shutil.rmtree(self._folder, ignore_errors=True)


def read_events_files(paths: Sequence[Path], scratch: Scratch) -> list[EventsFile]:
    inputs: list[EventsFile] = []
    held = 0  # bytes of files held whole
    for path in paths:
        size = path.stat().st_size
        if held + size > HELD_BYTES and size > SMALL_FILE_BYTES:
            with path.open("rb") as stream:
                gzip = stream.read(len(GZIP_MAGIC)) == GZIP_MAGIC
            if not gzip:
                inputs.append(_streamed(path, path))
                continue
        data = path.read_bytes()
        read_path = path
        if data.startswith(GZIP_MAGIC) and (inflated := _inflated(data)) is not None:
            # CloudTrail's own deliveries are gzip: inflated here (within the lake's caps), they take
            # DuckDB's way like any other JSON lines, 3-4x faster than the parsers' way.
            data, read_path = inflated, scratch.file(f"{len(inputs)}.jsonl")
            read_path.write_bytes(data)
            if held + len(data) > HELD_BYTES and len(data) > SMALL_FILE_BYTES:
                del data  # past the budget: the inflated text is only read in chunks from the scratch
                inputs.append(_streamed(path, read_path))
                continue
        held += len(data)
        head = data[:SNIFF_BYTES]
        start = len(head) - len(head.lstrip())
        end = data.find(b"\n", start)
        first_line = data[start : end if end >= 0 else len(data)]  # not split(): that copies the whole file
        first = None
        if not data.startswith(GZIP_MAGIC) and b"\r" not in data and b"\x01" not in data:
            first = _json_object(first_line.decode("utf-8", errors="replace"))
        inputs.append(EventsFile(path, read_path, len(data), head, first, data=data))
    return inputs


_CHUNK_BYTES = 16 << 20


def _file_holds(path: Path, needle: bytes) -> bool:
    """Whether the file's bytes hold `needle`, read in chunks (overlapping by the needle's length)."""
    tail = b""
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            if needle in tail + chunk[: len(needle)] or needle in chunk:
                return True
            tail = chunk[-(len(needle) - 1) :] if len(needle) > 1 else b""
    return False


def _streamed(path: Path, read_path: Path) -> EventsFile:
    """A big plain file (or a gzip file's inflated text) read once in chunks, never held whole: its
    head, and its first line's object if it is JSON lines DuckDB can read (no `\r`, no `\x01`, a
    first line within the lake's line cap). Otherwise its text is read whole, for its parser."""
    head = b""
    first_line: bytes | None = None  # complete once a newline ends it
    pending = b""  # the first line so far
    size = 0
    plain = True
    with read_path.open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            size += len(chunk)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            plain = plain and b"\r" not in chunk and b"\x01" not in chunk
            if first_line is None and len(pending) <= DEFAULT_LIMITS.line_bytes:
                pending = pending + chunk if pending else chunk.lstrip()  # leading blank lines skipped
                end = pending.find(b"\n")
                if end >= 0:
                    first_line, pending = pending[:end], b""
    if first_line is None and pending and len(pending) <= DEFAULT_LIMITS.line_bytes:
        first_line = pending  # the only line, without a newline at its end
    first = None
    if plain and first_line is not None:
        first = _json_object(first_line.decode("utf-8", errors="replace"))
    if first is None:  # not JSON lines: its parser reads it whole
        data = read_path.read_bytes()
        return EventsFile(path, read_path, len(data), data[:SNIFF_BYTES], None, data=data)
    return EventsFile(path, read_path, size, head, first)


def _json_object(text: str) -> dict[str, object] | None:
    """`text` as a JSON object; None when it is not JSON or not an object."""
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _inflated(data: bytes) -> bytes | None:
    """A gzip input's whole text within the lake's caps; None when it is damaged, too large or a bomb
    (the source's parser then reads it as ingest does, keeping what precedes the damage)."""
    stream = open_input(data)
    chunks = []
    try:
        while chunk := stream.read(1 << 20):
            chunks.append(chunk)
    except (DecompressedTooLarge, OSError, EOFError, zlib.error):
        return None
    return b"".join(chunks)
