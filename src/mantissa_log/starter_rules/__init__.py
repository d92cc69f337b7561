"""Mantissa Log's own starter rule pack: Sigma rules plus Mantissa fields, each with its own tests.

One folder per log source (`cloudtrail/`, `okta/`, `github/`), one rule per `*.yml` file. Every rule
carries `tests:` (events that must and must not match); `mantissa-log rules test` runs them, and so
does tests/test_starter_rules.py. The files ship as package data: import them all with
`mantissa-log rules import <STARTER_RULES_DIR> --user ...`, or list them with `starter_rule_files()`.
"""

from __future__ import annotations

from pathlib import Path

STARTER_RULES_DIR = Path(__file__).parent
RULE_SUFFIXES = (".yml", ".yaml")


def starter_rule_files() -> list[Path]:
    """Every rule file of the pack, sorted by path (folder = log source)."""
    return sorted(
        path
        for path in STARTER_RULES_DIR.rglob("*")
        if path.is_file() and path.suffix in RULE_SUFFIXES and path.parent != STARTER_RULES_DIR
    )
