"""Hunting: compiled rules straight over log files, in memory, no lake and no state store.

Fast where it matters (whole-file incident response over big captures):
- each file is given to the sources whose check accepts its first record (or to the one source
  named), so a CloudTrail capture is not read again as Okta, Azure, ...;
- the JSON-lines files of one source (gzip ones inflated first) go through one DuckDB pipeline, all
  at once: small files' lines handed over as a parameter, big files read by DuckDB in parallel and
  never held whole in Python past `hunt_inputs.HELD_BYTES` (lines that are not JSON objects are skipped, as the
  parsers reject them; envelopes such as CloudTrail's `{"Records": [...]}` are unnested); other
  layouts (JSON arrays, pretty-printed documents, VPC flow text) go through the source's parser;
- every rule of a source is evaluated in one scan (its CASE-chained flag expression, shared field
  reads computed once per row), counting matches per file; the event struct is built with only the
  fields the rules read. Small inputs are scanned in two halves of the rules at once (planning is
  most of their cost), and only the rules whose gates their events pass are planned at all
  (`_passing_gates`, `sigma.gates`).
Correlation rules count the events their base rules match, as a hunt reports them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake import sql
from mantissa_log.lake.at_once import at_once
from mantissa_log.lake.detect.hunt_inputs import (
    EventsFile,
    Scratch,
    first_record,
    read_events_files,
    sources_of,
)
from mantissa_log.lake.detect.hunt_lines import Lines, lines_select
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.lake.detect.text_events import Unsure, line_events, load_line
from mantissa_log.lake.detect.text_gates import files_gate_values, gate_reads, passing_gates
from mantissa_log.lake.detect.text_scan import FileEvents, text_counts
from mantissa_log.lake.detect.tiny import TINY_BYTES
from mantissa_log.lake.parsers import JSON_PARSERS, parse
from mantissa_log.sigma.compiled import CompiledRule
from mantissa_log.sigma.factor import shared_reads, with_reads

if TYPE_CHECKING:
    # The C engine itself: the `duckdb` package re-exports it and adds a Python relational API that
    # costs 0.1-0.15 s to import (a fifth of a small hunt). A hunt needs only connect/execute/fetchall,
    # and a tiny one (`text_scan`) not even those: the functions that run SQL import it when they run.
    import _duckdb as duckdb

# Inputs up to this size in all are scanned by two cursors at once, each with half the rules (see
# `_scan_streaming`); bigger ones by one scan, so that their events are parsed once.
SPLIT_BYTES = 4 << 20
# Inputs up to this size in all are first read for the distinct values the rules' gates test, and only
# the rules those values can satisfy are planned (`_passing_gates`): the pass parses every line once
# more, which costs less than planning the rules it drops only while the input is small (a 6.7 MB
# 5,000-event scan 78 -> 62 ms; at 13 MB 148 -> 170 ms, at 26 MB 229 -> 262 ms: medians in-process).
GATE_BYTES = 8 << 20


class HuntMatch(NamedTuple):
    rule_index: int  # position in the `rules` given
    events_file: Path
    matches: int


def hunt_files(
    rules: Sequence[CompiledRule],
    event_paths: Sequence[Path],
    source: str | None = None,
    database: PendingDatabase | None = None,
    unread: list[Path] | None = None,
) -> list[HuntMatch]:
    """Per (rule, file) with at least one match: how many events of the file the rule matched.

    `database`: its owner's, left open (the `hunt` command ends its process without closing it);
    without one, the hunt makes its own and closes it. `unread`: where to note the files none of the
    rules' log sources recognized (so not hunted at all), for the caller to say so."""
    if database is None:
        database = PendingDatabase()
        try:
            return hunt_files(rules, event_paths, source, database, unread)
        finally:
            database.close()
    scratch = Scratch()
    try:
        return _hunt(rules, read_events_files(event_paths, scratch), source, database, unread)
    finally:
        scratch.remove()


def _hunt(
    rules: Sequence[CompiledRule],
    inputs: list[EventsFile],
    source: str | None,
    database: PendingDatabase,
    unread: list[Path] | None,
) -> list[HuntMatch]:
    needed = sorted({rule.source for rule in rules})
    firsts = [(item.first if item.lines else first_record(item.data)) if source is None else None for item in inputs]
    claims = [sources_of(first, item.head, needed) for first, item in zip(firsts, inputs, strict=True)]
    if unread is not None and source is None and rules:
        unread.extend(item.path for item, claimed in zip(inputs, claims, strict=True) if not claimed)
    found: dict[tuple[int, int], int] = {}
    # The database is waited for only once it is needed: a tiny input's gate pass runs meanwhile.
    for wanted in needed:
        chosen = [i for i in range(len(inputs)) if source == wanted or (source is None and wanted in claims[i])]
        if not chosen:
            continue
        of_source = [(index, rule) for index, rule in enumerate(rules) if rule.source == wanted]
        counts = _scan_streaming(database, wanted, [inputs[i] for i in chosen], chosen, of_source)
        if counts is None:
            counts = _parsed_in_python(wanted, [inputs[i] for i in chosen], chosen, of_source)
        if counts is None:
            con = database.get()
            table = _load(con, wanted, [inputs[i] for i in chosen], chosen)
            if table is None:
                continue
            counts = _scan(con, table, of_source)
            con.execute(f"DROP TABLE {table}")
        for (index, fid), count in counts.items():
            found[(fid, index)] = count
    return [HuntMatch(index, inputs[fid].path, count) for (fid, index), count in sorted(found.items()) if count > 0]


def _parsed_in_python(
    source: str, inputs: list[EventsFile], fids: list[int], rules: list[tuple[int, CompiledRule]]
) -> dict[tuple[int, int], int] | None:
    """The careful way's counts for a tiny input, in Python (`text_scan`): the events `_load` would
    store (JSON lines as DuckDB takes them, other layouts through the source's parser, whose compact
    `raw` DuckDB would read), without starting DuckDB. None when the input is not tiny, not JSON, or
    Python cannot vouch for the counts: the caller then loads the events into DuckDB."""
    spec = SOURCES[source]
    if not rules or not sql.has_event(spec) or sum(item.size for item in inputs) > TINY_BYTES:
        return None
    envelope = JSON_PARSERS[source].envelope if source in JSON_PARSERS else None
    files: list[FileEvents] = []
    try:
        for fid, item in zip(fids, inputs, strict=True):
            if item.lines:
                events = list(line_events(item.text(), envelope))
            else:
                parsed = parse(source, item.data, filename=str(item.path))
                events = [load_line(event.raw) for event in parsed.events]
            files.append((fid, events))
    except (Unsure, ValueError, RecursionError):
        return None
    return text_counts(files, rules, spec.structure)


def _scan_streaming(
    database: PendingDatabase,
    source: str,
    inputs: list[EventsFile],
    fids: list[int],
    rules: list[tuple[int, CompiledRule]],
) -> dict[tuple[int, int], int] | None:
    """The common case in one pass: every file is JSON lines, so DuckDB reads, checks, parses and
    evaluates them in a single pipeline and no copy of the events is ever stored (storing them was a
    third of a hunt's time). None when that does not apply or fails: the caller then loads the events
    into a table (parsers for what DuckDB cannot read) and scans it, rule by rule if need be."""
    if not rules or source == "vpcflow" or not all(item.lines for item in inputs):
        return None
    envelope = JSON_PARSERS[source].envelope if source in JSON_PARSERS else None
    if envelope and not any(item.may_hold_key(envelope) for item in inputs):
        # No line holds the key, so no line is an envelope: skip making each line a list to unnest,
        # a fifth of the scan.
        envelope = None
    lines = Lines(list(zip(fids, inputs, strict=True)), envelope, rules, source, database)
    counts = lines.counted()  # a mid-size input hunted in Python on both cores (`text_halves`)
    if counts is not None:
        return counts  # the database was never needed
    events = lines.events()  # routes a mid-size input's lines (`text_lines`) before anything else
    if lines.kept is not None or sum(item.size for item in inputs) <= GATE_BYTES:
        rules = _passing_gates(database, source, lines, rules)
        if not rules:
            return {}
    if events is not None:
        counts = text_counts(events, rules, SOURCES[source].structure)
        if counts is not None:
            return counts  # the database was never needed: a tiny hunt ends without starting it
    con = database.get()
    small = lines.size() <= SPLIT_BYTES
    if not small or len(rules) < 2 or (os.cpu_count() or 1) < 2:
        return _scan_lines(con, lines, rules)
    # Small inputs: the scan is mostly planning one expression per rule, on one thread. Two halves of
    # the rules on two cursors plan and run at once (the engine releases the interpreter lock): the
    # corpus' 57-rule scan 0.060 -> 0.048 s. Big inputs are read by one scan: there parsing is the cost.
    halves = [rules[0::2], rules[1::2]]

    def scan_half(half: list[tuple[int, CompiledRule]]) -> dict[tuple[int, int], int] | None:
        with con.cursor() as cursor:
            return _scan_lines(cursor, lines, half)

    outcomes = at_once([lambda: scan_half(halves[0]), lambda: scan_half(halves[1])], name="hunt-scan")
    first, second = outcomes
    return None if first is None or second is None else first | second


def _passing_gates(
    database: PendingDatabase, source: str, lines: Lines, rules: list[tuple[int, CompiledRule]]
) -> list[tuple[int, CompiledRule]]:
    """The rules these events can match: those without a gate, and those whose gate holds for the
    events' distinct values of the fields the gates test (`sigma.gates`), read in one cheap pass.

    For a small input planning the rules is most of the scan (57 rules: ~45 ms of CPU for 12 events),
    and a capture rarely holds the event names and services of more than a few of them. The pass
    reads the fields exactly as the rules' SQL does (`lower(event."eventName")` of the same struct);
    when it fails, every rule is kept (the scan then fails the same way and the caller takes the
    careful way).

    A tiny input's values are read in Python (`text_gates`), on this thread while the database may
    still be being set up on its own; DuckDB reads them when Python cannot vouch for the same values."""
    gates = [rule.gates for _, rule in rules if rule.gates]
    spec = SOURCES[source]
    if not gates or not sql.has_event(spec):
        return rules
    reads = gate_reads(rules)
    structure = sql.needed_structure(spec.structure, reads)
    if not structure:
        return rules
    events = lines.events()  # a tiny input's, or a mid-size one's kept lines' (`Lines.events`)
    seen = None if events is None else files_gate_values(events, reads, structure)
    if seen is None and lines.holding is not None:
        return lines.holding  # found while routing the lines: too many to read in Python
    if seen is None:
        seen = _duckdb_gate_values(database.get(), lines, reads, structure)
    if seen is None:
        return rules
    return passing_gates(rules, seen)


def _duckdb_gate_values(
    con: duckdb.DuckDBPyConnection, lines: Lines, reads: list[str], structure: dict[str, Any]
) -> dict[str, set[str]] | None:
    """{read: distinct lowered values} of these lines' events, read by DuckDB; None when it fails."""
    import _duckdb as duckdb

    events, params = lines.select(validate=False)
    # (read's position, value) pairs, distinct: one hash aggregate (a `list(DISTINCT ...)` per read was
    # five times slower).
    positions = ", ".join(str(position) for position in range(len(reads)))
    values = ", ".join(f"lower({read})" for read in reads)
    typed = f"(SELECT {_typed_event(structure)} AS event FROM ({events}))"
    pairs = f"SELECT unnest([{positions}]) AS k, unnest([{values}]) AS v FROM {typed}"
    try:
        found = con.execute(f"SELECT DISTINCT k, v FROM ({pairs}) WHERE v IS NOT NULL", params or None).fetchall()
    except duckdb.Error:
        return None
    seen: dict[str, set[str]] = {}
    for position, value in found:
        seen.setdefault(reads[position], set()).add(value)
    return seen


def _scan_lines(
    con: duckdb.DuckDBPyConnection, lines: Lines, rules: list[tuple[int, CompiledRule]]
) -> dict[tuple[int, int], int] | None:
    """One streaming scan of these rules over these JSON-lines files; None when DuckDB fails it."""
    import _duckdb as duckdb

    # When the scan builds the event struct, `json_transform` already parses every line and fails the
    # query on one that is not JSON (the caller then takes the careful way), so a separate `json_valid`
    # would only parse each line twice (measured: -13 % of a 30k-event scan's CPU).
    structure = _event_structure(rules)
    events, params = lines.select(validate=not structure)
    try:
        return _scan_together(con, f"({events})", rules, params, structure=structure)
    except duckdb.Error:
        return None


def _load(con: duckdb.DuckDBPyConnection, source: str, inputs: list[EventsFile], fids: list[int]) -> str | None:
    """Table `hunt_<source>` (fid, raw) of every event of these files, in no particular order."""
    envelope = JSON_PARSERS[source].envelope if source in JSON_PARSERS else None
    lines_inputs = [(fid, item) for fid, item in zip(fids, inputs, strict=True) if item.lines and source != "vpcflow"]
    parts: list[str] = []
    if lines_inputs and _read_lines(con, lines_inputs, envelope):
        parts.append("SELECT fid, raw FROM hunt_lines")
    else:
        lines_inputs = []  # DuckDB could not read them: the parsers will
    native_fids = {fid for fid, _ in lines_inputs}
    raws: list[str] = []
    owners: list[int] = []
    for fid, item in zip(fids, inputs, strict=True):
        if fid in native_fids:
            continue
        parsed = parse(source, item.data, filename=str(item.path))
        raws += [event.raw for event in parsed.events]
        owners += [fid] * len(parsed.events)
    if raws:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE hunt_parsed AS "
            "SELECT unnest($1::INTEGER[]) AS fid, unnest($2::VARCHAR[]) AS raw",
            [owners, raws],
        )
        parts.append("SELECT fid, raw FROM hunt_parsed")
    if not parts:
        return None
    table = f"hunt_{source}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {' UNION ALL '.join(parts)}")
    for name in ("hunt_parsed", "hunt_lines"):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    return table


def _read_lines(con: duckdb.DuckDBPyConnection, inputs: list[tuple[int, EventsFile]], envelope: str | None) -> bool:
    """Table `hunt_lines` (fid, raw): every JSON object line of these files, envelopes unnested.
    False when DuckDB cannot read them."""
    import _duckdb as duckdb

    lines, params = lines_select(inputs, envelope)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE hunt_lines AS {lines}", params or None)
    except duckdb.Error:
        return False
    return True


def _scan(
    con: duckdb.DuckDBPyConnection, table: str, rules: list[tuple[int, CompiledRule]]
) -> dict[tuple[int, int], int]:
    """{(rule index, fid): matches} for every rule of one source, in one scan when possible."""
    import _duckdb as duckdb

    if not rules:
        return {}
    try:
        return _scan_together(con, table, rules)
    except duckdb.Error:
        # One rule's SQL failing (a regex DuckDB refuses at run time) must not hide the others.
        found: dict[tuple[int, int], int] = {}
        for item in rules:
            try:
                found.update(_scan_together(con, table, [item]))
            except duckdb.Error:
                continue
        return found


def _event_structure(rules: list[tuple[int, CompiledRule]]) -> dict[str, Any]:
    """The event struct a scan of these rules (all of one source) builds; {} when it builds none."""
    spec = SOURCES[rules[0][1].source]
    expressions = [rule.flag_expression for _, rule in rules]
    return sql.needed_structure(spec.structure, expressions) if sql.has_event(spec) else {}


def _typed_event(structure: dict[str, Any]) -> str:
    """The event struct of `raw` with only these fields, typed as the source's structure says: what
    a scan's rules and the gate pass read (the same struct, so the same values)."""
    shape = sql.quote_literal(json.dumps(structure, separators=(",", ":")))
    return f"CAST(json_transform(raw, {shape}) AS {sql.duckdb_type(structure)})"


def _scan_together(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rules: list[tuple[int, CompiledRule]],
    params: list[Any] | None = None,
    *,
    structure: dict[str, Any] | None = None,
) -> dict[tuple[int, int], int]:
    """{(rule index, fid): matches} of one scan; `structure`: `_event_structure(rules)` when known."""
    reads, expressions = shared_reads([rule.flag_expression for _, rule in rules])
    if structure is None:
        structure = _event_structure(rules)
    if structure:
        table = f"(SELECT fid, raw, {_typed_event(structure)} AS event FROM {table})"
    flags = ", ".join(f"({expression}) AS f{i}" for i, expression in enumerate(expressions))
    counts = ", ".join(f"count(*) FILTER (WHERE f{i})" for i in range(len(rules)))
    # No `WHERE f0 OR f1 OR ...` before grouping: planning and evaluating that chain cost more than the
    # counts' own filters (measured: corpus -23 % CPU, a 30k lab capture -12 %, 100k generated +8 %).
    query = f"SELECT fid, {counts} FROM (SELECT fid, {flags} FROM {with_reads(table, reads)} AS ev) GROUP BY fid"
    found: dict[tuple[int, int], int] = {}
    for row in con.execute(query, params or None).fetchall():
        fid = int(row[0])
        for position, (index, _) in enumerate(rules):
            if row[position + 1]:
                found[(index, fid)] = int(row[position + 1])
    return found
