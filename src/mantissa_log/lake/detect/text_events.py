"""A tiny input's events read by Python's `json`, only where DuckDB's scan reads the same events.

The hunt's Python passes over a tiny input (`text_gates`: the values the rules' gates test;
`text_scan`: the rules themselves) must see what its DuckDB scan would see: the same events, the same
values. Each line is taken as `hunt_lines.lines_select` takes it (split at newlines; a line opening with
`{` is an event, or an envelope whose object members are); a line is refused (`Unsure`: the caller
leaves the input to DuckDB) where the two JSON readers may disagree:

- a line Python cannot read (DuckDB may: trailing commas), NaN or Infinity (both read them);
- an object with a repeated key (DuckDB reads the first occurrence, Python the last);
- a lone surrogate escape (`\\ud800`: Python reads it, DuckDB refuses the line), a number beyond the
  double range (Python reads it, DuckDB refuses the line).

A value read from an event is `checked_text`: text of ASCII characters only, without NUL, or a boolean
or an integer, which DuckDB writes as Python does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

# A \uXXXX escape of a UTF-16 surrogate: Python pairs two of them or keeps one alone; DuckDB's reader
# refuses a lone one. Any one gives up (rare in logs), which spares telling pairs apart.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# The integers DuckDB's JSON reader holds exactly (int64 and uint64), written back in decimal.
_SMALLEST_INTEGER, _LARGEST_INTEGER = -(1 << 63), (1 << 64) - 1
# Digits in a number beyond which it may leave the double range (1e308): DuckDB refuses such a line.
_NUMBER_DIGITS = 300


class Unsure(Exception):
    """The input holds something Python and DuckDB may read differently."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) != len(pairs):
        raise Unsure  # a repeated key
    return made


def _constant(name: str) -> Any:
    raise Unsure  # NaN, Infinity: not JSON, though both readers take them


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise Unsure
    return value


def _int(text: str) -> int:
    if len(text) > _NUMBER_DIGITS:
        raise Unsure
    return int(text)


def load_line(line: str) -> dict[str, Any]:
    """One line opening with `{`, read; Unsure (or ValueError, RecursionError) where DuckDB may differ."""
    if "\\u" in line and _SURROGATE_ESCAPE.search(line):
        raise Unsure
    value = json.loads(line, object_pairs_hook=_object, parse_constant=_constant, parse_float=_float, parse_int=_int)
    if not isinstance(value, dict):
        raise Unsure  # cannot happen for text opening with `{`; kept for the type
    return value


def line_events(text: str, envelope: str | None) -> Iterator[dict[str, Any]]:
    """The events of one file's text, in order; raises Unsure (or ValueError, RecursionError)."""
    for line in text.split("\n"):
        if line.startswith("{"):
            value = load_line(line)
            if envelope and envelope in line:
                members = value.get(envelope)
                if isinstance(members, list):  # else DuckDB's list is NULL and the line is the event
                    yield from (member for member in members if isinstance(member, dict))
                    continue
            yield value


def checked_text(value: Any) -> str:
    """A read value as the text DuckDB holds for it, which lowers and compares the same way: text of
    ASCII characters without NUL; a boolean as 'true' / 'false' and an integer within DuckDB's range in
    decimal, as its JSON reader writes them. Unsure for anything else."""
    if isinstance(value, str):
        if not value.isascii() or "\x00" in value:
            raise Unsure  # an escape made it other text than ASCII, whose case folding may differ
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is int and _SMALLEST_INTEGER <= value <= _LARGEST_INTEGER:
        return str(value)
    raise Unsure  # a fraction, an object or an array: DuckDB writes those as JSON text of its own
