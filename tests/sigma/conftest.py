"""The shared conformance corpus (../shared/corpus: SigmaHQ rules, public CloudTrail events), compiled once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mantissa_log.sigma import CompiledRule, RuleCompileError, compile_sigma

# tests/sigma/conftest.py -> parents[3] is the directory holding both the repo and shared/.
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


@dataclass
class CorpusResult:
    compiled: dict[str, list[CompiledRule]] = field(default_factory=dict)  # rule file -> rules
    generic: list[str] = field(default_factory=list)  # compiled with source='json' (no log source of ours)
    refused: dict[str, str] = field(default_factory=dict)  # rule file -> reason


def compile_corpus_rule(text: str) -> tuple[list[CompiledRule], bool]:
    """Compile as the rule's logsource says; rules for products we have no source for run as generic JSON."""
    try:
        return compile_sigma(text), False
    except RuleCompileError as error:
        if error.field != "logsource":
            raise
    return compile_sigma(text, source="json"), True


@pytest.fixture(scope="session")
def corpus() -> CorpusResult:
    if not (CORPUS / "rules").is_dir():
        # Fail, never skip: a missing corpus must not pass as a green conformance run.
        pytest.fail(f"conformance corpus not found at {CORPUS} (expected ../shared/corpus beside the repo)")
    result = CorpusResult()
    for path in sorted((CORPUS / "rules").glob("*.yml")):
        name = f"rules/{path.name}"
        try:
            rules, generic = compile_corpus_rule(path.read_text(encoding="utf-8"))
        except RuleCompileError as error:
            result.refused[name] = str(error)
            continue
        result.compiled[name] = rules
        if generic:
            result.generic.append(name)
    return result
