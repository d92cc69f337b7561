"""A hunt's JSON-lines input as DuckDB reads it, and as Python reads it where it can.

`Lines` makes the SELECT of the files' lines (`lines_select`: small files' text handed over as one
string, bigger ones read by DuckDB itself) once per form, and reads the events in Python for a tiny
input, or for a mid-size one the lines some rule may match (`text_lines`), so that `hunt` can answer
without the database (`text_scan`).
"""

from __future__ import annotations

import json
from collections.abc import Set as AbstractSet
from typing import Any

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake import sql
from mantissa_log.lake.detect.hunt_inputs import SMALL_FILE_BYTES, EventsFile
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.lake.detect.text_events import Unsure, line_events
from mantissa_log.lake.detect.text_halves import Counts, hunt_in_halves, route
from mantissa_log.lake.detect.text_lines import Router
from mantissa_log.lake.detect.text_scan import FileEvents
from mantissa_log.lake.detect.tiny import ROUTED_BYTES, ROUTED_READ_BYTES, TINY_BYTES
from mantissa_log.lake.model import DEFAULT_LIMITS
from mantissa_log.sigma.compiled import CompiledRule

# Small files are already in memory (read to sniff them): up to this much in all, their text is handed
# to DuckDB as a query parameter instead of read again from disk. For the 351 small corpus files that is
# 2 ms instead of 23 (read_text, split, and joining each line's file name to its id); the cap bounds the
# extra copy (a Python string beside the bytes) on a hunt over very many small files.
HANDED_BYTES = 64 << 20


class Lines:
    """The SELECT of these files' lines (`_lines_select`) and its parameters, made once per form: the
    gate pass and both halves of a small scan share one joined text, which DuckDB then converts once
    (a fresh 1 MB string costs it 2-3 ms each time, on the interpreter lock)."""

    def __init__(
        self,
        inputs: list[tuple[int, EventsFile]],
        envelope: str | None,
        rules: list[tuple[int, CompiledRule]],
        source: str,
        database: PendingDatabase,
    ) -> None:
        self.inputs = inputs
        self.envelope = envelope
        self.rules = rules
        self.structure = SOURCES[source].structure
        self.database = database
        # Of a routed input (`text_lines`): each file's lines some rule may match, which are all the
        # scan then reads, and the rules whose gates may hold for some line of it.
        self.kept: list[tuple[int, str]] | None = None
        self.holding: list[tuple[int, CompiledRule]] | None = None
        self._made: dict[bool, tuple[str, list[Any]]] = {}
        self._events: list[FileEvents] | None = None  # [] once read and found unusable

    def select(self, *, validate: bool) -> tuple[str, list[Any]]:
        if validate not in self._made:  # two halves asking at once may both make it: the same value
            self._made[validate] = lines_select(self.inputs, self.envelope, validate=validate, texts=self.kept)
        return self._made[validate]

    def size(self) -> int:
        """The text the scan reads: the kept lines of a routed input, else the files'."""
        if self.kept is not None:
            return sum(len(text) for _, text in self.kept)
        return sum(item.size for _, item in self.inputs)

    def counted(self) -> Counts | None:
        """The counts of a mid-size input (over TINY_BYTES, up to ROUTED_BYTES) hunted in Python on both
        cores (`text_halves`), or None. When the halves routed the lines but could not count them, `kept`
        and `holding` are set for the scan, as `events` sets them on one core; when they could not be
        run, `events` does it all on one core."""
        if self._events is not None or not self.rules:
            return None
        size = sum(item.size for _, item in self.inputs)
        if not TINY_BYTES < size <= ROUTED_BYTES:
            return None
        pieces = [(fid, item.data) for fid, item in self.inputs]
        halves = hunt_in_halves(pieces, self.rules, self.envelope, self.structure, self.database)
        if halves is None:
            return None
        self._events = []  # read by the halves, or to be read by DuckDB
        if halves.kept is not None and halves.holding is not None:
            self.kept = halves.kept
            self.holding = self._rules_at(halves.holding)
        return halves.counts

    def _rules_at(self, positions: AbstractSet[int]) -> list[tuple[int, CompiledRule]]:
        return [rule for position, rule in enumerate(self.rules) if position in positions]

    def events(self) -> list[FileEvents] | None:
        """Each file's events read by Python (`text_events`): every event of a tiny input (TINY_BYTES of
        text in all); of a bigger one up to ROUTED_BYTES, those of the lines some rule's gate may hold
        for (`text_lines`), when they come to ROUTED_READ_BYTES or less. None beyond, or when Python cannot
        vouch for reading them as DuckDB does. Events no rule can match are never needed: every use
        of these (the gate pass, the scan in Python) asks only what the rules match."""
        if self._events is None:
            self._events = self._read_events()
        return self._events or None

    def _read_events(self) -> list[FileEvents]:
        size = sum(item.size for _, item in self.inputs)
        if size > ROUTED_BYTES:
            return []
        try:
            texts = [(fid, item.text()) for fid, item in self.inputs]
            chosen = self._routed(texts) if size > TINY_BYTES else texts
            if chosen is None:
                return []
            return [(fid, list(line_events(text, self.envelope))) for fid, text in chosen]
        except (Unsure, ValueError, RecursionError):  # UnicodeDecodeError too: DuckDB refuses such a file
            return []

    def _routed(self, texts: list[tuple[int, str]]) -> list[tuple[int, str]] | None:
        """Each file's lines some rule may match (`text_halves.route`), when they come to
        ROUTED_READ_BYTES or less; else None, with `holding` set when the routing itself could be done."""
        router = Router.of([rule.gates for _, rule in self.rules], self.structure)
        if router is None:
            return None
        kept = route(texts, router, ROUTED_READ_BYTES, self.database)
        if kept is None:
            return None
        self.kept = kept
        self.holding = self._rules_at(router.holding)
        return kept if sum(len(text) for _, text in kept) <= ROUTED_READ_BYTES else None


def lines_select(
    inputs: list[tuple[int, EventsFile]],
    envelope: str | None,
    *,
    validate: bool = True,
    texts: list[tuple[int, str]] | None = None,
) -> tuple[str, list[Any]]:
    """SELECT (fid, raw) of every JSON object line of these files, envelopes unnested, and its parameters.

    Without `validate`, a line that opens an object is taken as JSON: for a caller whose query parses
    every line anyway and fails on one that is not. With `texts`, those (each file's lines some rule
    may match, `text_lines`) are handed over instead of the files' text.

    Small files' text is handed over as a parameter (`_handed`) or, beyond HANDED_BYTES, read by
    DuckDB whole (`read_text`, split at newlines); big files by its CSV reader (one VARCHAR column, in
    parallel). A line that is not a JSON object is skipped, as the parsers reject it. A line DuckDB read
    gets its file id by joining its file name to a VALUES list of (fid, name).
    """
    small = [(fid, item) for fid, item in inputs if item.size <= SMALL_FILE_BYTES or texts is not None]
    big = [(fid, item) for fid, item in inputs if item.size > SMALL_FILE_BYTES and texts is None]
    handed = _handed(small) if texts is None else _joined(texts)
    params: list[Any] = []
    owned: list[str] = []  # SELECTs of (fid, line)
    read = []  # SELECTs of (filename, line), for files DuckDB reads
    if handed is not None:
        params = list(handed)
        owned.append("SELECT unnest(string_split($1, ','))::INTEGER AS fid, unnest(string_split($2, chr(10))) AS line")
    elif small:
        whole = f"read_text([{_names(small)}])"
        read.append(f"SELECT filename, unnest(string_split(content, chr(10))) AS line FROM {whole}")
    if big:
        read.append(
            f"SELECT filename, line FROM read_csv([{_names(big)}], columns = {{'line': 'VARCHAR'}}, header = false, "
            "delim = chr(1), quote = '', escape = '', auto_detect = false, new_line = '\\n', filename = true, "
            # Lines as long as the lake's parsers take (a CloudTrail delivery is one line of MBs);
            # DuckDB's default is 2 MB. A longer line fails the read and goes to the parsers, which refuse it.
            f"max_line_size = {DEFAULT_LIMITS.line_bytes})"
        )
    if read:
        files = big if handed is not None else inputs
        owners = ", ".join(f"({fid}, {sql.quote_literal(str(item.read_path))})" for fid, item in files)
        reader = f"({' UNION ALL '.join(read)}) AS r"
        owned.append(
            f"SELECT f.fid, r.line FROM {reader} JOIN (VALUES {owners}) AS f(fid, name) ON r.filename = f.name"
        )
    owner = f"SELECT fid, line FROM ({' UNION ALL '.join(owned)}) AS l"
    objects = f"{owner} WHERE left(line, 1) = '{{'" + (" AND json_valid(line)" if validate else "")
    if not envelope:
        return f"SELECT fid, line AS raw FROM ({objects})", params
    # An envelope (CloudTrail's {"Records": [...]}) holds events; any other object is one. One pass,
    # one parse of the line: json_transform gives the key's array as a list of JSON texts, NULL when
    # the key is absent or not an array (then the line is an event itself); an empty array, no event.
    # (A UNION of the two cases read every file twice; json_type + json_extract parsed the line twice.)
    key = sql.quote_literal(envelope)
    shape = sql.quote_literal(json.dumps({envelope: "JSON[]"}))
    members = f"struct_extract(json_transform(line, {shape}), {key})::VARCHAR[]"
    select = (
        f"SELECT fid, unnest(coalesce(CASE WHEN contains(line, {key}) THEN {members} END, [line])) AS raw "
        f"FROM ({objects})"
    )
    return f"SELECT fid, raw FROM ({select}) WHERE left(raw, 1) = '{{'", params


def _handed(inputs: list[tuple[int, EventsFile]]) -> tuple[str, str] | None:
    """(the file id of each line, comma-separated; these files' text joined at newlines), or None
    when DuckDB should read them itself: beyond HANDED_BYTES, or when one is not UTF-8 (DuckDB's reader
    then fails the query as it would have, and the caller's careful way takes over).

    Two strings, split in SQL, rather than two lists: DuckDB converts a list parameter element by element
    and, on the first, imports `datetime`, `decimal`, `uuid` and `platform` to tell the elements' types
    apart (~10 ms, a twentieth of a small hunt, measured as whole processes); a string it takes as is."""
    if not inputs or sum(item.size for _, item in inputs) > HANDED_BYTES:
        return None
    try:
        return _joined([(fid, item.text()) for fid, item in inputs])
    except UnicodeDecodeError:
        return None


def _joined(texts: list[tuple[int, str]]) -> tuple[str, str]:
    """(the file id of each line, comma-separated; the texts joined at newlines)."""
    owners = [",".join([str(fid)] * (text.count("\n") + 1)) for fid, text in texts]
    return ",".join(owners), "\n".join(text for _, text in texts)


def _names(inputs: list[tuple[int, EventsFile]]) -> str:
    return ", ".join(sql.quote_literal(str(item.read_path)) for _, item in inputs)
