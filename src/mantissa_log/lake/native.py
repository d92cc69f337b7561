"""Native ingest: DuckDB reads a file of JSON lines (plain or gzip) and decides each line in SQL.

The Python path (`parse` then `LogLake.ingest`) decodes every line with `json.loads`, checks it and
re-encodes it; for a large file that is most of the time. Here DuckDB reads the lines (its CSV
reader with one column and no delimiter, quote or escape, in parallel, when the text holds no `\r`
and no `\x01`; else the whole text split at newlines), numbers them from 1 as the parsers do, and
decides each in SQL with one JSON parse:

- blank (JSON whitespace only): skipped, as the parsers skip it;
- ok: DuckDB's JSON reader accepts the line, it is an object passing the source's `Require` (or
  `AnyOf`) check (keys holding a non-empty string, an object, an array, one of a few values; see
  `lake.native_checks`), and its time and id fields (top-level keys or dotted paths, read as
  `fields.lookup` reads them) hold values that SQL
  computes exactly as `lake.fields` does: absent, null, a boolean, an object or an array (unusable);
  ISO 8601 text of the usual shape `YYYY-MM-DD[T ]hh:mm:ss[.f][Z|±hh:mm]`; a non-negative integer
  epoch below 1e17 (seconds, ms or µs by magnitude), as a number or as digits; a non-empty string
  id. Stored with `raw` = the line's own text (valid JSON of the same object; the Python path
  re-encodes it compactly), so the struct `event` derived from it is the same;
- envelope (CloudTrail `{"Records": [...]}`, Azure `{"records": [...]}`, API pages): its elements
  are unnested in SQL (each as DuckDB re-serialises it) and each is decided the same way;
- below KEEP_TEXT_BYTES the decisions keep the text only of the lines that are not plain events; the
  events' text is read from the file again, row beside decision (a POSITIONAL JOIN: the same reader,
  the same order), which costs less than storing every line in a table. The store refuses an input
  rewritten in between (lines appended meanwhile are left for the next ingest). A larger input keeps
  every line's text in the decisions table, so that what follows runs on every core;
- anything else goes to the source's Python parser, line by line (or element by element), which
  gives exactly the Python path's answer for it: events, repaired text (lone surrogates become
  U+FFFD), rejections with line number, index and reason. Lines holding `NaN`, `Infinity` or a
  comma before a closing bracket go there too: DuckDB's reader accepts them, Python's refuses them
  (a cheap test on the text; a match inside a string only costs that line the slower way).

Events are stored in input order, as the Python path stores them. Known differences, all on input
that is unusual for a log producer: `raw` keeps the sender's spelling (whitespace, escapes, number
forms), so a hash-derived `event_id` (source without an id field) hashes that text; an object with
a repeated key reads the first occurrence in DuckDB, the last in Python; bare `nan`, `inf` or
`infinity` in other spellings than `NaN` / `Infinity` are read by DuckDB as numbers (Python refuses
the line); nesting deeper than Python's recursion limit and numbers beyond the double range, both
valid JSON, are kept rather than rejected.

The whole file takes the Python path when the source is not JSON (vpcflow), the input is not JSON
lines (its first non-blank line opens an array, or a document spread over several lines), the text
is not valid UTF-8 (Python repairs invalid bytes as U+FFFD; DuckDB refuses the file), or a gzip
stream is corrupt or truncated (Python keeps what precedes the damage).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta

import duckdb

from mantissa_log.domain.log_sources import SOURCES, LogSource
from mantissa_log.lake import sql
from mantissa_log.lake.fields import EPOCH
from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParsedEvent, ParseResult, Rejection
from mantissa_log.lake.native_checks import Extraction, check_keys, check_sql
from mantissa_log.lake.parsers import JSON_PARSERS
from mantissa_log.lake.parsers.jsonsource import AnyOf, JsonSourceParser, Require, event_too_large
from mantissa_log.lake.reader import is_json
from mantissa_log.lake.staging import NotNative, Piece, staged

__all__ = ["NotNative", "Piece", "classify_sql", "drop_piece", "native_parser", "read_piece", "staged"]

_MICRO = timedelta(microseconds=1)

# A comma before a closing bracket: DuckDB's JSON reader allows it, Python's does not (see _lenient).
_TRAILING_COMMA = r",[ \t\r\n]*[\]}]"
# ISO 8601 as `fields.parse_time` reads it (after `upper()`), in the shape SQL computes exactly:
# years 1000-2999 (no overflow when an offset moves the day), hours 00-23, seconds 00-59, up to 9
# fraction digits (Python keeps 6), no offset (UTC), Z, or ±hh:mm within a day. Other text goes to
# Python, which knows every other form fromisoformat accepts.
_ISO = (
    r"([12][0-9]{3}-[0-9]{2}-[0-9]{2})[Tt ]((?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])"
    r"(?:\.([0-9]{1,9}))?([Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
_EPOCH_DIGITS = r"[0-9]{1,17}"
# From this size on, the decisions table keeps every line's text and the events are read from it.
# DuckDB scans a table in parallel by row group (122,880 rows, ~130 MB of CloudTrail): a smaller
# input is one row group, read by one thread either way, and re-reading the file beside the
# decisions is cheaper than storing its text; a larger one needs the table for the COPY to Parquet
# (JSON transform, compression) and the dedup keys to run on every core (1M events: the COPY
# 7.8 s on one thread beside the file, against 2 threads from the table). Between 16,384 and 122,880
# rows the store then COPYs the rows in two halves at once, through a table of their own
# (`lake.halved_copy`).
KEEP_TEXT_BYTES = 128 << 20
# Every line with its text and decision, when the decisions table holds the text.
_DECIDED_LINES = "(SELECT n, r AS line, kind, event_time, event_id FROM classified)"


def native_parser(source: str) -> JsonSourceParser | None:
    """The source's parser when its checks and fields can be computed in SQL, else None."""
    parser = JSON_PARSERS.get(source)
    if parser is None or not (parser.check is None or isinstance(parser.check, Require | AnyOf)):
        return None
    spec = SOURCES[source]
    keys = (*spec.time_fields, *spec.id_fields, *(parser.check.read_keys() if parser.check is not None else ()))
    if any('"' in key or "\\" in key for key in keys):
        return None  # not expressible as a quoted JSON path key: leave those to Python
    return parser


# ---------------------------------------------------------------- SQL


def _string(text: str) -> str:
    """A JSON value's text as SQL text: a string's value (decoded only when it has escapes), else as is."""
    return (
        f"CASE WHEN left({text}, 1) <> '\"' THEN {text} WHEN contains({text}, '\\') "
        f"THEN json_extract_string({text}, '$') ELSE substr({text}, 2, length({text}) - 2) END"
    )


def _iso_time(value: str) -> str:
    """The UTC TIMESTAMP of text known to match _ISO (NULL for an impossible date, as in Python)."""
    zone = (
        f"CASE WHEN right({value}, 1) IN ('Z', 'z') THEN 1 "
        f"WHEN substr({value}, length({value}) - 5, 1) IN ('+', '-') THEN 6 ELSE 0 END"
    )
    fraction = (
        f"CASE WHEN substr({value}, 20, 1) = '.' THEN substr({value}, 21, length({value}) - 20 - ({zone})) ELSE '' END"
    )
    sign = f"CASE WHEN substr({value}, length({value}) - 5, 1) = '-' THEN -1 ELSE 1 END"
    offset = (
        f"CASE WHEN ({zone}) = 6 THEN ({sign}) * (CAST(substr({value}, length({value}) - 4, 2) AS INTEGER) * 60 "
        f"+ CAST(right({value}, 2) AS INTEGER)) ELSE 0 END"
    )
    return (
        f"try_strptime(left({value}, 10) || ' ' || substr({value}, 12, 8), '%Y-%m-%d %H:%M:%S') "
        f"+ to_microseconds(CAST(rpad(left({fraction}, 6), 6, '0') AS BIGINT)) - to_minutes({offset})"
    )


def _epoch_time(digits: str) -> str:
    """`fields.epoch_time` of a non-negative integer below 1e17 (seconds, ms or µs by magnitude)."""
    number = f"CAST({digits} AS BIGINT)"
    return (
        f"make_timestamp(CASE WHEN {number} < 100000000000 THEN {number} * 1000000 "
        f"WHEN {number} < 100000000000000 THEN {number} * 1000 ELSE {number} END)"
    )


def _first(choices: list[tuple[str, str]]) -> tuple[str, str]:
    """(value, needs Python) of the first choice with a value; Python if an earlier one needs it."""
    if not choices:
        return "NULL", "false"
    values = " ".join(f"WHEN {python} THEN NULL WHEN ({value}) IS NOT NULL THEN {value}" for value, python in choices)
    pythons = " ".join(f"WHEN {python} THEN true WHEN ({value}) IS NOT NULL THEN false" for value, python in choices)
    return f"CASE {values} ELSE NULL END", f"CASE {pythons} ELSE false END"


def classify_sql(
    spec: LogSource, parser: JsonSourceParser, relation: str, *, lines: bool, event_bytes: int = 1 << 20
) -> str:
    """SELECT over `relation` (n, idx, r): n, idx, r, kind ('ok', 'env', 'py'), event_time, event_id.

    With `lines`, r is a line of the input (anything at all); otherwise an element DuckDB
    re-serialised from an envelope (valid JSON; an envelope inside one is not unnested again).
    One JSON parse per row reads the values of the keys the decision needs as JSON text; a value's
    kind is its first character (`"` string, `{` object, `[` array, n, t, f, else a number). Each
    stage is its own subquery, so that every extraction and regex runs once per row.
    """
    check = parser.check if isinstance(parser.check, Require | AnyOf) else None
    envelope = parser.envelope if lines else None
    extraction = Extraction()
    check_keys(extraction, check)
    times = {key: extraction.lookup(key) for key in spec.time_fields}
    id_slots = [extraction.lookup(key) for key in spec.id_fields]
    envelope_slot = extraction.literal(envelope) if envelope else None
    paths = extraction.path_list()
    # Stage 1, one parse. A line must open an object and hold nothing DuckDB's reader would accept
    # where Python's does not; elements of envelopes were re-serialised by DuckDB (JSON already).
    if lines:
        readable = "(left(r, 1) = '{' OR left(ltrim(r, ' ' || chr(9) || chr(13)), 1) = '{')"
        readable += f" AND NOT {_lenient('r')}"
    else:
        readable = "left(r, 1) = '{'"
    stage1 = (
        f"SELECT n, idx, r, CASE WHEN {readable} THEN try(json_extract(r, [{paths}]))::VARCHAR[] END AS x "  # noqa: S608
        f"FROM {relation}"
    )
    # Stage 2: per key, its kind (first character) and its text (a string's value, decoded).
    columns = ", ".join(f"left({ref}, 1) AS k{i}, {_string(ref)} AS v{i}" for ref, i in extraction.slots.items())
    stage2 = f"SELECT n, idx, r, x IS NOT NULL AS parsed, {columns} FROM ({stage1})"  # noqa: S608
    # Stage 3: per time field, whether its text has a shape SQL computes exactly.
    iso, digits = sql.quote_literal(_ISO), sql.quote_literal(_EPOCH_DIGITS)
    numeric = "('0', '1', '2', '3', '4', '5', '6', '7', '8', '9')"
    shapes = "".join(
        f", coalesce(k{i} = '\"' AND regexp_full_match(v{i}, {iso}), false) AS iso{i}"
        f", coalesce((k{i} = '\"' OR k{i} IN {numeric}) AND regexp_full_match(v{i}, {digits}), false) AS epoch{i}"
        for i in dict.fromkeys(times.values())
    )
    stage3 = f"SELECT *{shapes} FROM ({stage2})"  # noqa: S608

    def unusable(i: int) -> str:
        return f"(k{i} IS NULL OR k{i} IN ('n', 't', 'f', '{{', '['))"

    # Stage 4: per time field its value, per id field its text, each computed once (a CASE below
    # names them twice: DuckDB does not share a repeated expression).
    time_slots = list(dict.fromkeys(times.values()))
    values = "".join(
        f", CASE WHEN iso{i} THEN {_iso_time(f'v{i}')} WHEN epoch{i} THEN {_epoch_time(f'v{i}')} END AS tv{i}"
        for i in time_slots
    )
    values += "".join(f", CASE WHEN k{i} = '\"' AND v{i} <> '' THEN v{i} END AS iv{i}" for i in dict.fromkeys(id_slots))
    stage4 = f"SELECT *{values}, parsed AND {check_sql(extraction, check)} AS passes FROM ({stage3})"  # noqa: S608
    time_choices = [(f"tv{i}", f"NOT ({unusable(i)} OR iso{i} OR epoch{i})") for i in times.values()]
    event_time, time_python = _first(time_choices)
    ids = [(f"iv{i}", f"NOT ({unusable(i)} OR k{i} = '\"')") for i in id_slots]
    event_id, id_python = _first(ids)
    passes = "passes"
    envelope_case = f"WHEN k{envelope_slot} = '[' THEN 'env' " if envelope_slot else ""
    # Blank for the parsers: nothing but JSON whitespace (Unicode spaces are Python's to judge).
    blank = "WHEN r IS NULL OR (left(r, 1) <> '{' AND trim(r, ' ' || chr(9) || chr(13)) = '') THEN 'blank' "
    # An event over the size cap is refused by line ('big'); an envelope line may be larger, its
    # elements are measured one by one.
    ok = f"CASE WHEN strlen(r) > {int(event_bytes)} THEN 'big' ELSE 'ok' END"
    return (
        f"SELECT n, idx, r, CASE {blank if lines else ''}WHEN NOT parsed THEN 'py' "  # noqa: S608
        f"WHEN {passes} THEN CASE WHEN {time_python} OR {id_python} THEN 'py' ELSE {ok} END "
        f"{envelope_case}ELSE 'py' END AS kind, "
        f"CASE WHEN {passes} THEN {event_time} END AS event_time, "
        f"CASE WHEN {passes} THEN {event_id} END AS event_id "
        f"FROM ({stage4})"
    )


def _lenient(text: str) -> str:
    """True when `text` holds something DuckDB's JSON reader accepts and Python's refuses."""
    return (
        f"(contains({text}, 'NaN') OR contains({text}, 'Infinity') "
        f"OR regexp_matches({text}, {sql.quote_literal(_TRAILING_COMMA)}))"
    )


def _trimmed(column: str) -> str:
    """The text without surrounding JSON whitespace (rarely any: most lines are `{...}`)."""
    return (
        f"CASE WHEN starts_with({column}, '{{') AND ends_with({column}, '}}') THEN {column} "
        f"ELSE trim({column}, ' ' || chr(9) || chr(13) || chr(10)) END"
    )


# ---------------------------------------------------------------- reading


@dataclass
class PieceResult:
    """What the native reader made of one piece: `relation` selects its events in input order.

    Its columns: n (line), pos (position in the line), raw, t (event time), event_id.
    """

    relation: str
    rows: int
    rejected: list[Rejection] = field(default_factory=list)
    repaired: int = 0
    first_line: int | None = None  # the input's first non-blank line, once seen
    uncounted: int = 0  # rejections counted by the parsers beyond those they kept


def read_piece(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    parser: JsonSourceParser,
    piece: Piece,
    first_line: int | None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> PieceResult:
    """Read one piece into temporary tables; `relation` gives its events in input order.

    `first_line` is the input's first non-blank line if an earlier piece had it. Raises NotNative
    when the input is not JSON lines or not valid UTF-8. `drop_piece` frees the tables.
    """
    spec = SOURCES[source]
    lines = _classify_lines(connection, spec, parser, piece, limits)
    if first_line is None:
        first_line = _first_content_line(connection, piece)
    counted = connection.execute("SELECT kind, count(*) FROM classified GROUP BY kind").fetchall()
    counts = {str(kind): int(count) for kind, count in counted}
    outcome = PieceResult("", counts.get("ok", 0), first_line=first_line)
    ok = f"SELECT n, 0 AS pos, {_trimmed('line')} AS raw, event_time AS t, event_id FROM {lines} WHERE kind = 'ok'"  # noqa: S608
    parts = [ok]
    extra: list[tuple[int, int, ParsedEvent]] = []  # (line, position, event) from the Python parser
    if counts.get("big"):
        _refuse_big(connection, "classified", outcome, limits)
    if counts.get("py"):
        odd = connection.execute("SELECT n, r FROM classified WHERE kind = 'py' ORDER BY n").fetchall()
        result, keys = parser.parse_lines(odd, first_line=first_line or 0, limits=limits)
        _collect(outcome, result, keys, extra)
    if counts.get("env") and parser.envelope:
        records = sql.quote_literal(f'$."{parser.envelope}"[*]')
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE records AS SELECT n, unnest(range(len(rs))) AS idx, "  # noqa: S608
            f"unnest(rs)::VARCHAR AS r FROM (SELECT n, json_extract(r, {records}) AS rs FROM classified "
            "WHERE kind = 'env')"
        )
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE classified_records AS "
            + classify_sql(spec, parser, "records", lines=False, event_bytes=limits.event_bytes)
        )
        _refuse_big(connection, "classified_records", outcome, limits)
        odd_records = connection.execute(
            "SELECT n, idx, r FROM classified_records WHERE kind NOT IN ('ok', 'big') ORDER BY n, idx"
        ).fetchall()
        result, keys = parser.parse_records([(int(n), int(i), str(r)) for n, i, r in odd_records], limits=limits)
        _collect(outcome, result, keys, extra)
        parts.append("SELECT n, idx, r, event_time, event_id FROM classified_records WHERE kind = 'ok'")
        found = connection.execute("SELECT count(*) FROM classified_records WHERE kind = 'ok'").fetchone()
        outcome.rows += int(found[0]) if found else 0
    if extra:
        _load_extra(connection, extra)
        parts.append("SELECT n, pos, raw, t, event_id FROM extra")
        outcome.rows += len(extra)
    # As the Python path reports them: by line, then by position in an envelope.
    outcome.rejected.sort(key=lambda r: (r.line or 0, -1 if r.index is None else r.index))
    if len(parts) == 1:
        outcome.relation = f"({ok})"
    else:
        # Several stages: merged by (line, position in the line) into the input's order.
        connection.execute(f"CREATE OR REPLACE TEMP TABLE batch AS {' UNION ALL '.join(parts)} ORDER BY n, pos")
        outcome.relation = "batch"
    return outcome


def _refuse_big(connection: duckdb.DuckDBPyConnection, table: str, outcome: PieceResult, limits: IngestLimits) -> None:
    """Events over the size cap, refused by line (and index in an envelope) with their size."""
    found = connection.execute(f"SELECT n, idx, strlen(r) FROM {table} WHERE kind = 'big' ORDER BY n, idx")  # noqa: S608
    for line, index, size in found.fetchall():
        at = None if index is None else int(index)
        outcome.rejected.append(Rejection(int(line), at, event_too_large(int(size), limits)))


def drop_piece(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("DROP VIEW IF EXISTS classified")
    for table in ("batch", "extra", "classified_records", "records", "classified_lines", "text_lines"):
        connection.execute(f"DROP TABLE IF EXISTS {table}")


def _collect(
    outcome: PieceResult, result: ParseResult, keys: list[tuple[int, int]], extra: list[tuple[int, int, ParsedEvent]]
) -> None:
    outcome.rejected += result.rejected
    outcome.uncounted += result.rejected_total - len(result.rejected)
    outcome.repaired += result.repaired
    extra += [(line, position, event) for (line, position), event in zip(keys, result.events, strict=True)]


def _classify_lines(
    connection: duckdb.DuckDBPyConnection, spec: LogSource, parser: JsonSourceParser, piece: Piece, limits: IngestLimits
) -> str:
    """View `classified` (n, idx, r, kind, event_time, event_id): every line of the piece, decided.

    n is the line's number in the whole input; blank lines have kind 'blank'. Returns a relation
    (n, line, kind, event_time, event_id) with every line's text, for the 'ok' lines' events: in
    `classified`, r may be NULL for an 'ok' line.
    """
    start = piece.first_line + 1
    path = sql.quote_literal(str(piece.path))
    if piece.csv_safe:
        # One VARCHAR column, no delimiter, quote or escape in play: a row is a line (an empty line a
        # NULL) and rows keep the file's order, so a line's number is its row's position. The reader
        # is parallel, and the lines are decided as they are read. A line longer than its limit
        # (2 MB), or invalid UTF-8, raises: the text reader below decides then.
        reader = (
            f"read_csv({path}, columns = {{'t': 'VARCHAR'}}, header = false, delim = chr(1), quote = '', "
            "escape = '', auto_detect = false, new_line = '\\n')"
        )
        lines = f"(SELECT NULL::BIGINT AS n, NULL::BIGINT AS idx, t AS r FROM {reader})"  # noqa: S608
        decided = classify_sql(spec, parser, lines, lines=True, event_bytes=limits.event_bytes)
        keep_text = piece.path.stat().st_size >= KEEP_TEXT_BYTES  # why: see KEEP_TEXT_BYTES
        text = "r" if keep_text else "CASE WHEN kind = 'ok' THEN NULL ELSE r END"
        try:
            connection.execute(
                f"CREATE OR REPLACE TEMP TABLE classified_lines AS SELECT idx, {text} AS r, "  # noqa: S608
                f"kind, event_time, event_id FROM ({decided})"
            )
        except duckdb.Error:
            connection.execute("DROP TABLE IF EXISTS classified_lines")
        else:
            connection.execute(
                f"CREATE OR REPLACE TEMP VIEW classified AS SELECT rowid + {start} AS n, "  # noqa: S608
                "idx, r, kind, event_time, event_id FROM classified_lines"
            )
            if keep_text:
                return _DECIDED_LINES
            return (
                f"(SELECT c.rowid + {start} AS n, l.t AS line, c.kind, c.event_time, c.event_id "  # noqa: S608
                f"FROM {reader} AS l POSITIONAL JOIN classified_lines AS c)"
            )
    # The text as one string, split at newlines (one thread: about twice as slow).
    try:
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE text_lines AS "  # noqa: S608
            f"SELECT unnest(range({start}, {start} + len(l))) AS n, NULL::BIGINT AS idx, unnest(l) AS r "
            f"FROM (SELECT string_split(content, chr(10)) AS l FROM read_text({path}))"
        )
    except duckdb.InvalidInputException as exc:
        if "utf-8" in str(exc).lower():
            raise NotNative("not valid UTF-8") from exc
        raise
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE classified_lines AS "
        + classify_sql(spec, parser, "text_lines", lines=True, event_bytes=limits.event_bytes)
    )
    connection.execute("DROP TABLE text_lines")
    connection.execute(
        "CREATE OR REPLACE TEMP VIEW classified AS SELECT n, idx, r, kind, event_time, event_id FROM classified_lines"
    )
    return _DECIDED_LINES


def _first_content_line(connection: duckdb.DuckDBPyConnection, piece: Piece) -> int | None:
    """The first non-blank line's number; NotNative when it does not start JSON lines."""
    found = connection.execute("SELECT n, r FROM classified WHERE kind <> 'blank' ORDER BY n LIMIT 1").fetchone()
    if found is None:
        return None
    number = int(found[0])
    line = str(found[1]) if found[1] is not None else _line_text(piece, number)
    # As `reader.iter_values` decides: the first non-blank line (BOM stripped) sets the mode.
    text = line.strip().lstrip("\ufeff")
    if not text:
        raise NotNative("the first line is blank only to Python (Unicode spaces, a lone BOM)")
    if text[0] == "[" or (text[0] == "{" and not is_json(text)):
        raise NotNative("not JSON lines")
    return number


def _line_text(piece: Piece, number: int) -> str:
    """The text of line `number` of the input, read from the piece (a line whose text the decisions did
    not keep; in practice the first line or one soon after it)."""
    with piece.path.open("rb") as handle:
        for found in itertools.islice(handle, number - piece.first_line - 1, None):
            return found.rstrip(b"\n").decode("utf-8")
    raise NotNative(f"line {number} is not in the input")  # cannot happen: the reader numbered it


def _load_extra(connection: duckdb.DuckDBPyConnection, extra: list[tuple[int, int, ParsedEvent]]) -> None:
    micros = [None if event.event_time is None else (event.event_time - EPOCH) // _MICRO for _, _, event in extra]
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE extra AS SELECT unnest($1::BIGINT[]) AS n, unnest($2::BIGINT[]) AS pos, "
        "unnest($3::VARCHAR[]) AS raw, make_timestamp(unnest($4::BIGINT[])) AS t, unnest($5::VARCHAR[]) AS event_id",
        [
            [line for line, _, _ in extra],
            [position for _, position, _ in extra],
            [event.raw for _, _, event in extra],
            micros,
            [event.event_id for _, _, event in extra],
        ],
    )
