"""The `mantissa-log` command.

`hunt` is dispatched before the Typer application is imported: a hunt's start time is a product goal
(incident response over many small captures, measured against Zircolite in `make bench-hunt`), and
importing Typer and its Click costs 0.08-0.13 s, as much as DuckDB's own start. Every other command
goes through the Typer application (`cli/app.py`), which lists `hunt` too.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["hunt"]:
        from mantissa_log.cli.hunt import run_hunt

        raise SystemExit(run_hunt(sys.argv[2:]))
    from mantissa_log.cli.app import app

    app()
