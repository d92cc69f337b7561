"""Hunting use case: Sigma rule files straight over log files, no lake and no state store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mantissa_log.errors import MantissaError
from mantissa_log.lake.detect.hunt import hunt_files
from mantissa_log.sigma.compiler import CompiledRule, compile_sigma


@dataclass(frozen=True)
class HuntFinding:
    """A rule that matched events of a file, or (with `error`) a rule file that could not be used."""

    rule_file: str
    rule_id: str | None = None
    rule_title: str | None = None
    events_file: str | None = None
    matches: int = 0
    error: str | None = None


def _compile(path: Path, source: str | None) -> list[CompiledRule] | str:
    try:
        return compile_sigma(path.read_text(), source=source)
    except (MantissaError, UnicodeDecodeError, OSError) as exc:
        return str(exc)


def hunt(rule_paths: list[Path], event_paths: list[Path], source: str | None = None) -> list[HuntFinding]:
    """One finding per (rule, file) with matches, and one per rule file that does not compile."""
    findings: list[HuntFinding] = []
    compiled: list[tuple[Path, CompiledRule]] = []
    for path in rule_paths:
        result = _compile(path, source)
        if isinstance(result, str):
            findings.append(HuntFinding(rule_file=str(path), error=result))
        else:
            compiled.extend((path, rule) for rule in result)
    for match in hunt_files([rule for _, rule in compiled], event_paths):
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
    return findings
