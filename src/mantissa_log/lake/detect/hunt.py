"""Hunting: compiled rules straight over log files, in memory, no lake and no state store.

Each events file is parsed once per log source a rule needs (with the lake's parsers) and loaded
into an in-memory DuckDB table shaped like the lake's; every rule of that source then runs on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.lake.detect.duckdb_engine import load_memory_table, match_events
from mantissa_log.lake.parsers import parse
from mantissa_log.sigma.compiler import CompiledRule


@dataclass(frozen=True)
class HuntMatch:
    rule_index: int  # position in the `rules` given
    events_file: Path
    matches: int


def hunt_files(rules: Sequence[CompiledRule], event_paths: Sequence[Path]) -> list[HuntMatch]:
    """Per (rule, file) with at least one match: how many events of the file the rule matched."""
    needed = sorted({rule.source for rule in rules})
    found: list[HuntMatch] = []
    with duckdb.connect(":memory:") as con:
        for number, events_path in enumerate(event_paths):
            data = events_path.read_bytes()
            for wanted in needed:
                parsed = parse(wanted, data, filename=str(events_path))
                if not parsed.events:
                    continue
                table = load_memory_table(
                    con, f"hunt_{number}_{wanted}", SOURCES[wanted].structure_json(), [e.raw for e in parsed.events]
                )
                for index, rule in enumerate(rules):
                    if rule.source != wanted:
                        continue
                    matched = match_events(con, table, rule)
                    if matched:
                        found.append(HuntMatch(index, events_path, len(matched)))
    return found
