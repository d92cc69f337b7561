"""A tiny input's hunt in Python: the rules' flags (`python_flags`) over its events (`text_events`).

For up to ~1,000 events (`tiny.TINY_BYTES` of text), DuckDB's start is most of a hunt:
importing the engine, building its catalog, planning the scan. When every rule left after the gates
has a Python flag and every value it reads is one DuckDB reads the same way, the counts come from
here and the engine is never started; otherwise (None) the hunt scans in DuckDB as before.

Each event is given only the rules its own values can satisfy: a rule whose gate (`sigma.gates`) has
a clause of equality tests on one field (most: `eventSource`, `eventName`) is tried only on events
whose lowered value of that field is one of the clause's texts, found in a dictionary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mantissa_log.lake.detect.python_flags import python_flag
from mantissa_log.lake.detect.text_events import Unsure, checked_text
from mantissa_log.lake.detect.text_gates import read_paths
from mantissa_log.sigma.compiled import CompiledRule, Gate

FileEvents = tuple[int, list[dict[str, Any]]]  # (file id, its events in order)
Flag = Callable[[dict[str, Any]], bool]


def text_counts(
    files: Sequence[FileEvents], rules: Sequence[tuple[int, CompiledRule]], structure: dict[str, Any]
) -> dict[tuple[int, int], int] | None:
    """{(rule index, file id): matches > 0}, as the DuckDB scan counts them; None when Python cannot
    vouch for them (a rule outside `python_flags`' dialect, a value DuckDB may read otherwise)."""
    flags: list[tuple[int, Flag]] = []
    for index, rule in rules:
        flag = python_flag(rule.flag_expression, structure)
        if flag is None:
            return None
        flags.append((index, flag))
    routes = _Routes([rule.gates for _, rule in rules], structure)
    found: dict[tuple[int, int], int] = {}
    try:
        for fid, events in files:
            for event in events:
                for position in routes.candidates(event):
                    index, flag = flags[position]
                    if flag(event):
                        found[(index, fid)] = found.get((index, fid), 0) + 1
    except (Unsure, RecursionError):
        return None
    return found


class _Routes:
    """Which rules (by position) an event's values can satisfy, by their gates' equality clauses."""

    def __init__(self, gates: Sequence[Gate], structure: dict[str, Any]) -> None:
        self.always: list[int] = []  # rules without an equality clause: tried on every event
        # read -> (its key path, lowered text -> rules requiring it, every rule routed on this read)
        self.routes: dict[str, tuple[tuple[str, ...], dict[str, list[int]], list[int]]] = {}
        for position, gate in enumerate(gates):
            clause = next((clause for clause in gate if _equalities(clause, structure)), None)
            if clause is None:
                self.always.append(position)
                continue
            read = clause[0][0]
            paths = read_paths([read], structure)
            assert paths is not None  # checked by _equalities
            _, by_text, routed = self.routes.setdefault(read, (paths[0], {}, []))
            routed.append(position)
            for _, _, text in clause:
                by_text.setdefault(text, []).append(position)

    def candidates(self, event: dict[str, Any]) -> list[int]:
        chosen = list(self.always)
        for path, by_text, routed in self.routes.values():
            value: Any = event
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
                if value is None:
                    break
            if value is None:
                continue  # a NULL passes no equality: none of these rules can match
            try:
                text = checked_text(value).lower()
            except Unsure:
                chosen += routed  # a value read otherwise by DuckDB: the flags decide (or give up)
                continue
            chosen += by_text.get(text, ())
        return chosen  # no rule twice: each is routed on one read, under each of its texts once


def _equalities(clause: Sequence[tuple[str, str, str]], structure: dict[str, Any]) -> bool:
    """Whether the clause is equality tests on one text leaf only (an event passes it when its lowered
    value is one of the texts)."""
    reads = {read for read, _, _ in clause}
    return (
        len(reads) == 1 and all(op == "eq" for _, op, _ in clause) and read_paths(sorted(reads), structure) is not None
    )
