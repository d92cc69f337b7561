"""`mantissa-log init`: provision this environment (admin credentials), idempotent."""

from __future__ import annotations

import typer
from rich.console import Console

from mantissa_log.cli.context import friendly_errors

console = Console(soft_wrap=True)


@friendly_errors
def init_command(
    check: bool = typer.Option(False, "--check", help="only report what is missing (read-only); exit 1 if anything is"),
) -> None:
    """Create the tables, buckets, keys, Glue database and Athena workgroup this configuration names.

    Safe to run again: what exists is kept (and its point-in-time recovery, TTL, bucket
    encryption and versioning switched on if they were off). Normal commands never create any of it.
    """
    from mantissa_log.config import load_settings
    from mantissa_log.services.container import build_backend
    from mantissa_log.services.provisioning import missing_resources, provision

    config = load_settings()
    if check:
        backend = build_backend(config)
        try:
            missing = missing_resources(config, backend)
        finally:
            backend.close()
        for name in missing:
            console.print(f"[red]missing[/red] {name}", highlight=False)
        if missing:
            raise typer.Exit(1)
        console.print("everything this configuration needs exists")
        return
    for step in provision(config):
        mark = "[green]created[/green]" if step.outcome == "created" else "exists "
        console.print(f"{mark} {step.kind} {step.name}", highlight=False)
