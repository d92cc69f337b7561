"""The lines of a JSON-lines text that some rule may match, found without parsing the others.

Beyond a tiny input, reading every event with `json.loads` (~20 ms a MB, `text_events`) costs more
than DuckDB's start; but most lines of a capture match no rule's gate (`sigma.gates`), and those need
not be read at all. A regular expression finds, in each line, the values of the keys the gates read
(`"eventName": "..."`), and a line is kept only when every clause of some rule's gate has a test that
holds on them. What is left (a third of a lab capture's lines, for the 57 AWS rules) is read and
scanned in Python as a tiny input is (`hunt._Lines.events`).

Dropping a line is safe only if no rule can match any event in it, so the values found must be a
superset of those the rules' SQL reads (`lower(event."a"."b")`), never missing one:

- a key is matched by its last name anywhere in the line (`"type"` also under `resources`): more
  values, never fewer; envelopes need no unnesting, their members' keys are in the line too;
- a value is taken only as plain ASCII text without escapes, lowered as DuckDB lowers it; any other
  value of such a key (a number, a boolean, an object, an escape, other characters) is unknown: every
  test on that key may hold for the line;
- an escape that could spell an ASCII character (`\\u0065`) may spell a key: any such escape in the
  text gives up (None), as does a gate-less rule (its every line may match) or a read reaching no
  VARCHAR leaf (`text_gates.read_paths`);
- a line that is not JSON is dropped only as DuckDB would skip it or match nothing in it: a line not
  opening with `{` is skipped by the hunt anyway, and a broken line with no key to match holds no
  event a rule could match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from mantissa_log.lake.detect.text_gates import read_paths
from mantissa_log.sigma.compiled import Gate, test_holds

# \u0020-\u007f: an escape that may spell a key's character (a key spelled so would be missed).
_ASCII_ESCAPE = re.compile(r"\\u00[2-7]")


class Routing(NamedTuple):
    text: str  # the lines some gate may hold for, joined at newlines
    holding: frozenset[int]  # positions of the gates that may hold for some line of the text


def route(text: str, gates: Sequence[Gate], structure: dict[str, Any]) -> Routing | None:
    """The lines of `text` that some gate may hold for, and which gates may hold for any line at all
    (a superset, as a gate pass may give); None when that cannot be told without reading the lines
    (see above)."""
    if not gates or any(not gate for gate in gates):
        return None
    reads = sorted({read for gate in gates for clause in gate for read, _, _ in clause})
    paths = read_paths(reads, structure)
    if paths is None or _ASCII_ESCAPE.search(text):
        return None
    leaf = {read: path[-1] for read, path in zip(reads, paths, strict=True)}
    names = sorted(set(leaf.values()))
    # "name" : then a plain string (group 2), null, or anything else (group 3: the line is kept).
    found = re.compile(r'"(' + "|".join(map(re.escape, names)) + r')"[ \t\r\n]*:[ \t\r\n]*(?:"([^"\\]*)"|null|(.))')
    lines = text.split("\n")
    # Lines by what the expression finds in them: a capture repeats a few shapes, each judged once.
    shapes: dict[tuple[tuple[str, str, str], ...], list[int]] = {}
    for number, line in enumerate(lines):
        if line.startswith("{"):  # any other line is never an event to the hunt (`hunt._lines_select`)
            shapes.setdefault(tuple(found.findall(line)), []).append(number)
    read_shapes = {shape: _values(shape) for shape in shapes}
    # The gates that may hold for some line: only those are tried line by line.
    every: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for values, unknown_names in read_shapes.values():
        for name, texts in values.items():
            every.setdefault(name, set()).update(texts)
        unknown |= unknown_names
    holding = frozenset(position for position, gate in enumerate(gates) if _holds(gate, every, unknown, leaf))
    tried = [gates[position] for position in sorted(holding)]
    kept: list[int] = []
    for shape, numbers in shapes.items():
        values, unknown_names = read_shapes[shape]
        if any(_holds(gate, values, unknown_names, leaf) for gate in tried):
            kept += numbers
    kept.sort()
    return Routing("\n".join([lines[number] for number in kept]), holding)


def _values(shape: tuple[tuple[str, str, str], ...]) -> tuple[dict[str, set[str]], frozenset[str]]:
    """{key name: its lowered plain values} of one line's matches, and the names with a value that is
    not plain text (any test on them may hold)."""
    values: dict[str, set[str]] = {}
    unknown: set[str] = set()
    for name, plain, other in shape:
        if other or not plain.isascii():
            unknown.add(name)
        elif plain:  # (an empty string matches no gate test's text)
            values.setdefault(name, set()).add(plain.lower())
    return values, frozenset(unknown)


def _holds(gate: Gate, values: dict[str, set[str]], unknown: AbstractSet[str], leaf: dict[str, str]) -> bool:
    """`gate_holds` for values found by key name, a test on a name of `unknown` holding whatever it asks."""
    return all(
        any(leaf[read] in unknown or test_holds(op, text, values.get(leaf[read], set())) for read, op, text in clause)
        for clause in gate
    )
