"""`mantissa-log hunt`: Sigma rules straight over log files, no server, lake or settings.

Its arguments are parsed with argparse, not Typer: `cli/main.py` runs this before importing the Typer
application, so a hunt starts without Typer's and Click's imports (see there why that matters). The
options are the ones Typer showed: `--rules/-r` and `--events/-e` (each repeatable, or naming several
paths), `--format/-f`, `--source/-s`; errors name the option and exit with 2, as Typer's did.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mantissa_log.cli.paths import event_files, rule_files
from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.errors import MantissaError

if TYPE_CHECKING:
    from mantissa_log.services.detection.hunt_database import PendingDatabase

HELP = "Scan log files with Sigma rules directly, no server or lake needed (incident response)."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mantissa-log hunt", description=HELP, formatter_class=_help_formatter)
    # `--rules a b` and `--rules a --rules b` both work (Typer took only the second form).
    parser.add_argument(
        "--rules", "-r", action="extend", nargs="+", type=Path, required=True, help="rule files or directories"
    )
    parser.add_argument(
        "--events", "-e", action="extend", nargs="+", type=Path, required=True, help="event files or directories"
    )
    parser.add_argument("--format", "-f", choices=("table", "json"), default="table", help="table (default) or json")
    parser.add_argument(
        "--source",
        "-s",
        choices=SOURCE_NAMES,
        help="log format of the event files (default: from each rule's logsource; docs/SOURCES.md)",
    )
    return parser


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's own formatter at the terminal's width, found as `shutil.get_terminal_size` finds it
    but without importing `shutil` (with bz2 and lzma: ~3 ms), which argparse does for this alone on
    every parser, also for a hunt that prints no help."""
    columns = 0
    with contextlib.suppress(KeyError, ValueError):
        columns = int(os.environ["COLUMNS"])
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
            columns = 0
    return argparse.HelpFormatter(prog, width=(columns or 80) - 2)


def run_hunt(argv: list[str], database: PendingDatabase | None = None) -> int:
    """Parse `argv` (what follows `hunt`), hunt, print the findings; the exit code.

    `database`: the hunt's DuckDB database, when the caller started setting it up already."""
    parser = _parser()
    options = parser.parse_args(argv)  # exits with 2 and a usage line naming the option
    from mantissa_log.services.detection.hunt import hunt

    # The compiled-rule cache lives in the data home; hunts read no other setting, so the
    # environment is enough (no settings file parsed: a hunt starts fast).
    cache = Path(os.environ.get("MANTISSA_HOME", ".mantissa")) / "cache" / "compiled"
    try:
        rules = rule_files(options.rules, option="--rules")
        events = event_files(options.events, option="--events")
        findings = hunt(rules, events, options.source, cache, database)
    except MantissaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if options.format == "json":
        lines = []
        for finding in findings:
            shown = {k: v for k, v in finding._asdict().items() if v is not None}  # flat: no deep copy needed
            if finding.error is not None:
                shown.pop("matches", None)
            lines.append(json.dumps(shown, separators=(",", ":")) + "\n")
        sys.stdout.write("".join(lines))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("rule", "events file", "matches")
    for finding in findings:
        if finding.error is not None:
            table.add_row(finding.rule_file or "-", finding.events_file or "-", f"[red]{finding.error}[/red]")
        else:
            table.add_row(f"{finding.rule_title} ({finding.rule_file})", str(finding.events_file), str(finding.matches))
    Console().print(table)
    return 0
