"""The gate pass in Python, for a tiny input: read while the hunt's database is still being set up.

`hunt._passing_gates` reads, for the fields the rules' gates test, the distinct lowered values of an
input's events (`sigma.gates`); DuckDB does it in 5-10 ms even for a dozen events (planning, not
reading), after its 30-40 ms set-up on another thread. For a tiny input (`tiny.TINY_BYTES`: up to
~1,000 events) the same values come from `json.loads` in 1-20 ms, on the main thread before the
database is needed at all (`text_scan` may then answer the rules without it).

The values must be those the rules' SQL reads, `lower(event."a"."b")` of DuckDB's `json_transform`
struct: a value this pass missed could drop a rule that matches. So it answers only where Python and
DuckDB provably agree, and gives up (None: the caller runs the DuckDB pass) on anything else:

- a line is what DuckDB would take as an event: it opens an object (`{` first); envelopes are
  unnested as `hunt_lines.lines_select` does, their object members being the events;
- a line Python cannot read gives up (DuckDB may read it: trailing commas), as does NaN or Infinity;
- an object with a repeated key gives up (DuckDB reads the first occurrence, Python the last);
- a read field must be a VARCHAR leaf of the source's structure, reached through objects only;
- a read value is text of ASCII characters only, without NUL, whose lower case is the same for both
  (DuckDB lowers some other characters differently, e.g. the Kelvin sign); a boolean or an integer
  reads as DuckDB writes it ('true', '12'); a fraction, object or array where text is expected gives
  up (DuckDB writes those as its own text); text elsewhere in the event is never read, so any
  characters may stand there;
- a missing key, JSON null, or a non-object on the way gives no value, as DuckDB's NULL.

Python reading a line DuckDB refuses is harmless: the scan then fails and the careful way runs
every rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mantissa_log.lake.detect.text_events import Unsure, checked_text, line_events
from mantissa_log.lake.sql import struct_read
from mantissa_log.sigma.compiled import CompiledRule, gate_holds

Rules = list[tuple[int, CompiledRule]]  # (position in the hunt, rule)


def read_paths(reads: Sequence[str], structure: dict[str, Any]) -> list[tuple[str, ...]] | None:
    """The key path of each read, or None when one is not a VARCHAR leaf reached through objects."""
    paths = []
    for read in reads:
        path = struct_read(read)
        if path is None:
            return None
        node: Any = structure
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        if node != "VARCHAR":
            return None
        paths.append(path)
    return paths


def text_gate_values(
    texts: Iterable[str], reads: Sequence[str], structure: dict[str, Any], envelope: str | None
) -> dict[str, set[str]] | None:
    """{read: the distinct lowered values of the events' field} for these files' texts, as the DuckDB
    pass would find them; None when this pass cannot vouch for that (the caller then asks DuckDB)."""
    try:
        return event_gate_values((event for text in texts for event in line_events(text, envelope)), reads, structure)
    except (Unsure, ValueError, RecursionError):
        return None


def gate_reads(rules: Rules) -> list[str]:
    """The reads the rules' gates test, sorted (the pass reads each once)."""
    return sorted({test[0] for _, rule in rules for clause in rule.gates for test in clause})


def passing_gates(rules: Rules, seen: dict[str, set[str]]) -> Rules:
    """The rules without a gate, and those whose gate holds for these values (`sigma.gates`)."""
    return [(index, rule) for index, rule in rules if not rule.gates or gate_holds(rule.gates, seen)]


def files_gate_values(
    files: Iterable[tuple[int, list[dict[str, Any]]]], reads: Sequence[str], structure: dict[str, Any]
) -> dict[str, set[str]] | None:
    """`event_gate_values` of files' events read already; None when Python cannot vouch for them."""
    try:
        return event_gate_values((event for _, events in files for event in events), reads, structure)
    except Unsure:
        return None


def event_gate_values(
    events: Iterable[dict[str, Any]], reads: Sequence[str], structure: dict[str, Any]
) -> dict[str, set[str]] | None:
    """`text_gate_values` of events read already (`text_events.line_events`); raises Unsure."""
    paths = read_paths(reads, structure)
    if paths is None:
        return None
    seen: dict[str, set[str]] = {}
    for event in events:
        _note(event, reads, paths, seen)
    return seen


def _note(event: dict[str, Any], reads: Sequence[str], paths: list[tuple[str, ...]], seen: dict[str, set[str]]) -> None:
    for read, path in zip(reads, paths, strict=True):
        node: Any = event
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if node is not None:
            seen.setdefault(read, set()).add(checked_text(node).lower())
