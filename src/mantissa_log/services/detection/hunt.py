"""Hunting: Sigma rules straight over log files, in memory, no lake and no state store.

Each events file is parsed once per log source a rule needs (with the lake's parsers) and loaded
into an in-memory DuckDB table shaped like the lake's; every rule then runs as one query.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from mantissa_log.domain.log_sources import SOURCES
from mantissa_log.errors import MantissaError
from mantissa_log.lake import parse
from mantissa_log.services.detection.engine import load_memory_table, match_events
from mantissa_log.sigma.compiler import CompiledRule, compile_sigma


def _compile(path: Path, source: str | None) -> list[CompiledRule] | str:
    try:
        return compile_sigma(path.read_text(), source=source)
    except (MantissaError, UnicodeDecodeError, OSError) as exc:
        return str(exc)


def hunt(rule_paths: list[Path], event_paths: list[Path], source: str | None = None) -> list[dict[str, Any]]:
    """Findings in the `hunt --format json` shape, one per (rule, file) with matches, and one per bad rule."""
    findings: list[dict[str, Any]] = []
    compiled: list[tuple[Path, CompiledRule]] = []
    for path in rule_paths:
        result = _compile(path, source)
        if isinstance(result, str):
            findings.append({"rule_file": str(path), "error": result})
        else:
            compiled.extend((path, rule) for rule in result)
    needed = sorted({rule.source for _, rule in compiled})
    con = duckdb.connect()
    try:
        for number, events_path in enumerate(event_paths):
            data = events_path.read_bytes()
            for wanted in needed:
                parsed = parse(wanted, data, filename=str(events_path))
                if not parsed.events:
                    continue
                table = load_memory_table(
                    con, f"hunt_{number}_{wanted}", SOURCES[wanted].structure_json(), [e.raw for e in parsed.events]
                )
                for rule_path, rule in compiled:
                    if rule.source != wanted:
                        continue
                    matched = match_events(con, table, rule)
                    if matched:
                        findings.append(
                            {
                                "rule_id": rule.rule_id,
                                "rule_title": rule.title,
                                "rule_file": str(rule_path),
                                "events_file": str(events_path),
                                "matches": len(matched),
                            }
                        )
    finally:
        con.close()
    return findings
