"""The lines of a JSON-lines text that some rule may match, found without parsing the others.

Beyond a tiny input, reading every event with `json.loads` (~20 ms a MB, `text_events`) costs more
than DuckDB's start; but most lines of a capture match no rule's gate (`sigma.gates`), and those need
not be read at all. A regular expression finds, in each line, the values of the keys the gates read
(`"eventName": "..."`), and a line is kept only when every clause of some rule's gate has a test that
holds on them. What is left (a third of a lab capture's lines, for the 57 AWS rules) is read and
scanned in Python as a tiny input is (`hunt_lines.Lines.events`).

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
from typing import Any

from mantissa_log.lake.detect.text_gates import read_paths
from mantissa_log.sigma.compiled import Gate, test_holds

# \u0020-\u007f: an escape that may spell a key's character (a key spelled so would be missed).
_ASCII_ESCAPE = re.compile(r"\\u00[2-7]")
# Line shapes remembered by a router at most (then forgotten, to be judged again).
_SHAPES = 4096


class Router:
    """Judges lines against the gates, piece after piece of an input; `holding` grows as it goes.

    Each line is tried only on the gates its own values may satisfy: a gate with a clause of equality
    tests on one key is looked up by that key's values (`eventName` = ...), the others are tried on
    every line (of the 57 AWS rules, one). A capture's lines are mostly distinct (user agents, ARNs),
    so judging each line against every gate (57 x ~2 us) would cost more than DuckDB's whole scan."""

    def __init__(self, gates: Sequence[Gate], leaf: dict[str, str]) -> None:
        self.gates = gates
        self.leaf = leaf  # read -> the last key of its path
        names = sorted(set(leaf.values()))
        # "name" : then a plain string (group 2), null, or anything else (group 3: the value is unknown).
        self.found = re.compile(
            r'"(' + "|".join(map(re.escape, names)) + r')"[ \t\r\n]*:[ \t\r\n]*(?:"([^"\\]*)"|null|(.))'
        )
        self.always: list[int] = []  # gates without an equality clause
        self.by_value: dict[tuple[str, str], list[int]] = {}  # (key name, lowered text) -> gates
        self.by_name: dict[str, list[int]] = {}  # key name -> the gates looked up by its values
        for position, gate in enumerate(gates):
            clause = next((clause for clause in gate if _equalities(clause, leaf)), None)
            if clause is None:
                self.always.append(position)
                continue
            name = leaf[clause[0][0]]
            self.by_name.setdefault(name, []).append(position)
            for _, _, text in clause:
                self.by_value.setdefault((name, text), []).append(position)
        self.holding: set[int] = set()
        # What the expression found in a line -> whether some gate holds: a lab capture repeats a few
        # hundred shapes (a line then costs its expression and one lookup); bounded for diverse ones.
        self.verdicts: dict[tuple[tuple[str, str, str], ...], bool] = {}

    @classmethod
    def of(cls, gates: Sequence[Gate], structure: dict[str, Any]) -> Router | None:
        """A router for these gates; None when a gate is empty (its every line may match) or reads
        something other than a VARCHAR leaf."""
        if not gates or any(not gate for gate in gates):
            return None
        reads = sorted({read for gate in gates for clause in gate for read, _, _ in clause})
        paths = read_paths(reads, structure)
        if paths is None:
            return None
        return cls(gates, {read: path[-1] for read, path in zip(reads, paths, strict=True)})

    def kept(self, text: str) -> str | None:
        """The lines of `text` some gate may hold for, joined at newlines; None when an escape in it
        may spell a key."""
        if _ASCII_ESCAPE.search(text):
            return None
        kept = [line for line in text.split("\n") if line.startswith("{") and self._holds_for(line)]
        return "\n".join(kept)

    def _holds_for(self, line: str) -> bool:
        found = tuple(self.found.findall(line))
        verdict = self.verdicts.get(found)
        if verdict is None:
            if len(self.verdicts) >= _SHAPES:
                self.verdicts.clear()
            verdict = self.verdicts[found] = self._judge(found)
        return verdict

    def _judge(self, found: tuple[tuple[str, str, str], ...]) -> bool:
        """Whether some gate may hold for a line in which the expression found these; the gates that
        do join `holding`."""
        if not found:
            return False  # no value: no gate's test can hold (every gate has a clause)
        values: dict[str, set[str]] = {}
        unknown: set[str] = set()
        for name, plain, other in found:
            if other or not plain.isascii():
                unknown.add(name)
            elif plain:  # (an empty string matches no gate test's text)
                values.setdefault(name, set()).add(plain.lower())
        candidates = set(self.always)
        for name, texts in values.items():
            for text in texts:
                candidates.update(self.by_value.get((name, text), ()))
        for name in unknown:
            candidates.update(self.by_name.get(name, ()))
        holds = False
        for position in candidates:
            if holds and position in self.holding:
                continue  # the line is kept already, and this gate known to hold for some line
            if _holds(self.gates[position], values, unknown, self.leaf):
                holds = True
                self.holding.add(position)
        return holds


def _equalities(clause: Sequence[tuple[str, str, str]], leaf: dict[str, str]) -> bool:
    """Whether the clause is equality tests on one key name only (then a line passes it only when one
    of its values of that key is one of the texts, or the key's value is unknown)."""
    return len({leaf[read] for read, _, _ in clause}) == 1 and all(op == "eq" for _, op, _ in clause)


def _holds(gate: Gate, values: dict[str, set[str]], unknown: AbstractSet[str], leaf: dict[str, str]) -> bool:
    """`gate_holds` for values found by key name, a test on a name of `unknown` holding whatever it asks."""
    return all(
        any(leaf[read] in unknown or test_holds(op, text, values.get(leaf[read], set())) for read, op, text in clause)
        for clause in gate
    )
