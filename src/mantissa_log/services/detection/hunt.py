"""Hunting use case: Sigma rule files straight over log files, no lake and no state store.

Rules are compiled through the compiled-rule cache (in the data home) so a repeated hunt does
not pay for pySigma again; the files are read and scanned by the lake's hunting engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from mantissa_log.errors import MantissaError
from mantissa_log.lake.detect.hunt import hunt_files
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.sigma.cache import CompiledRuleCache
from mantissa_log.sigma.compiled import CompiledRule


class HuntFinding(NamedTuple):
    """A rule that matched events of a file, or (with `error`) a rule file that could not be used or
    (`rule_file` empty) an events file no rule's log source recognized, so not hunted."""

    rule_file: str
    rule_id: str | None = None
    rule_title: str | None = None
    events_file: str | None = None
    matches: int = 0
    error: str | None = None


def _compile(cache: CompiledRuleCache, path: Path, source: str | None) -> list[CompiledRule] | str:
    try:
        return cache.compile_file(path, source=source)
    except (MantissaError, UnicodeDecodeError, OSError) as exc:
        return str(exc)


def hunt(
    rule_paths: list[Path],
    event_paths: list[Path],
    source: str | None = None,
    cache_folder: Path | None = None,
    database: PendingDatabase | None = None,
) -> list[HuntFinding]:
    """One finding per (rule, file) with matches, and one per rule file that does not compile.

    `database`: one already being set up (the command starts it before its imports), left open for
    its owner (the command ends its process instead of closing it); else one is started here, set up
    while the rules are read from the cache, and closed at the end."""
    if database is None:
        database = PendingDatabase()
        try:
            return _hunt(rule_paths, event_paths, source, cache_folder, database)
        finally:
            database.close()
    return _hunt(rule_paths, event_paths, source, cache_folder, database)


def _hunt(
    rule_paths: list[Path],
    event_paths: list[Path],
    source: str | None,
    cache_folder: Path | None,
    database: PendingDatabase,
) -> list[HuntFinding]:
    cache = CompiledRuleCache(cache_folder)
    findings: list[HuntFinding] = []
    compiled: list[tuple[Path, CompiledRule]] = []
    for path in rule_paths:
        result = _compile(cache, path, source)
        if isinstance(result, str):
            findings.append(HuntFinding(rule_file=str(path), error=result))
        else:
            compiled.extend((path, rule) for rule in result)
    unread: list[Path] = []
    for match in hunt_files([rule for _, rule in compiled], event_paths, source, database, unread):
        path, rule = compiled[match.rule_index]
        findings.append(
            HuntFinding(
                rule_file=str(path),
                rule_id=rule.rule_id,
                rule_title=rule.title,
                events_file=str(match.events_file),
                matches=match.matches,
            )
        )
    sources = ", ".join(sorted({rule.source for _, rule in compiled}))
    findings.extend(
        HuntFinding(
            rule_file="",
            events_file=str(path),
            error=f"not hunted: none of the rules' log sources ({sources}) recognized this file's first "
            "record; name its source with --source if it is one of them",
        )
        for path in unread
    )
    return findings
