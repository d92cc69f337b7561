"""`mantissa-log ingest` (into the lake, with a progress bar) and `mantissa-log hunt` (files, no server)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mantissa_log.cli.context import audit_cli, friendly_errors, open_services
from mantissa_log.cli.paths import event_files
from mantissa_log.domain.log_sources import SOURCE_NAMES

# Heavy modules (the services, the API's schemas, Rich) are imported inside the commands: a hunt
# must start in a fraction of a second and needs none of them.
SOURCES_HELP = "one of " + ", ".join(SOURCE_NAMES) + " (docs/SOURCES.md: what each reads)"


@friendly_errors
def ingest_command(
    paths: list[Path],
    source: str = typer.Option(..., "--source", "-s", help=SOURCES_HELP),
) -> None:
    """Load log files (gzipped or not) into the lake; malformed records are counted with reasons.

    Each source reads what its producer writes (docs/SOURCES.md).

    JSON lines are read by DuckDB directly (fast); other layouts go through the Python parsers.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    from mantissa_log.api.schemas.logs import IngestReportPublic
    from mantissa_log.services.logs import LogService

    console = Console(stderr=True, soft_wrap=True)
    LogService.check_source(source)
    files = event_files(paths)
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
