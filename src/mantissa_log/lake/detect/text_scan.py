"""A tiny input's hunt in Python: the rules' flags (`python_flags`) over its events (`text_events`).

For a few hundred events at most (`text_gates.TEXT_GATE_BYTES` of text), DuckDB's start is most of a
hunt: importing the engine, building its catalog, planning the scan. When every rule left after the
gates has a Python flag and every value it reads is one DuckDB reads the same way, the counts come
from here and the engine is never started; otherwise (None) the hunt scans in DuckDB as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mantissa_log.lake.detect.python_flags import python_flag
from mantissa_log.lake.detect.text_events import Unsure
from mantissa_log.sigma.compiled import CompiledRule

FileEvents = tuple[int, list[dict[str, Any]]]  # (file id, its events in order)


def text_counts(
    files: Sequence[FileEvents], rules: Sequence[tuple[int, CompiledRule]], structure: dict[str, Any]
) -> dict[tuple[int, int], int] | None:
    """{(rule index, file id): matches > 0}, as the DuckDB scan counts them; None when Python cannot
    vouch for them (a rule outside `python_flags`' dialect, a value DuckDB may read otherwise)."""
    flags = []
    for index, rule in rules:
        flag = python_flag(rule.flag_expression, structure)
        if flag is None:
            return None
        flags.append((index, flag))
    found: dict[tuple[int, int], int] = {}
    try:
        for fid, events in files:
            for index, flag in flags:
                matches = sum(1 for event in events if flag(event))
                if matches:
                    found[(index, fid)] = matches
    except (Unsure, RecursionError):
        return None
    return found
