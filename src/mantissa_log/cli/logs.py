"""`mantissa-log ingest` (into the lake, with a progress bar) and `mantissa-log hunt` (files, no server)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from mantissa_log.api.schemas.logs import IngestReportPublic
from mantissa_log.cli.context import audit_cli, friendly_errors, open_services
from mantissa_log.cli.rules import rule_files
from mantissa_log.domain.log_sources import SOURCE_NAMES
from mantissa_log.services.logs import LogService

console = Console(stderr=True, soft_wrap=True)
SOURCES_HELP = "one of " + ", ".join(SOURCE_NAMES) + " (docs/SOURCES.md: what each reads)"


def _event_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            raise typer.BadParameter(f"no such file or directory: {path}")
    return files


@friendly_errors
def ingest_command(
    paths: list[Path],
    source: str = typer.Option(..., "--source", "-s", help=SOURCES_HELP),
) -> None:
    """Load log files (gzipped or not) into the lake; malformed records are counted with reasons.

    Each source reads what its producer writes (docs/SOURCES.md).

    JSON lines are read by DuckDB directly (fast); other layouts go through the Python parsers.
    """
    LogService.check_source(source)
    files = _event_files(paths)
    with open_services() as services:
        report = services.logs.new_report(source)
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"ingesting {source}", total=sum(f.stat().st_size for f in files))
            for file in files:
                services.logs.ingest_file(report, file)
                progress.advance(task, file.stat().st_size)
        audit_cli(services, "logs.ingest", f"{source}: {report.accepted} accepted, {report.rejected} rejected")
    for entry in report.reasons[:20]:
        where = ":".join(str(entry[k]) for k in ("file", "line") if k in entry)
        console.print(f"[yellow]rejected[/yellow] {where}: {entry['reason']}", highlight=False)
    shown = IngestReportPublic.of(report).model_dump(exclude={"rejections"})
    typer.echo(json.dumps(shown | {"rejections": len(report.reasons)}))


@friendly_errors
def hunt_command(
    rules: list[Path] = typer.Option(..., "--rules", "-r", help="rule files or directories"),
    events: list[Path] = typer.Option(..., "--events", "-e", help="event files or directories"),
    output: str = typer.Option("table", "--format", "-f", help="table or json"),
    source: str | None = typer.Option(
        None,
        "--source",
        "-s",
        help=f"log format of the event files (default: from each rule's logsource): {SOURCES_HELP}",
    ),
) -> None:
    """Scan log files with Sigma rules directly, no server or lake needed (incident response)."""
    if output not in ("table", "json"):
        raise typer.BadParameter("use table or json", param_hint="--format")
    findings = LogService.hunt(rule_files(rules), _event_files(events), source)
    if output == "json":
        for finding in findings:
            shown = {k: v for k, v in asdict(finding).items() if v is not None}
            if finding.error is not None:
                shown.pop("matches", None)
            typer.echo(json.dumps(shown, separators=(",", ":")))
        return
    table = Table("rule", "events file", "matches")
    for finding in findings:
        if finding.error is not None:
            table.add_row(finding.rule_file, "-", f"[red]{finding.error}[/red]")
        else:
            table.add_row(f"{finding.rule_title} ({finding.rule_file})", str(finding.events_file), str(finding.matches))
    Console().print(table)
