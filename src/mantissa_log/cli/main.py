"""The `mantissa-log` command.

`hunt` is dispatched before the Typer application is imported: a hunt's start time is a product goal
(incident response over many small captures, measured against Zircolite in `make bench-hunt`), and
importing Typer and its Click costs 0.08-0.13 s, as much as DuckDB's own start. Every other command
goes through the Typer application (`cli/app.py`), which lists `hunt` too.

A hunt starts setting up its DuckDB database (C++ that releases the interpreter lock) before it
imports its own modules, so that both run at once, and it ends without the interpreter's teardown
(`_leave`). On a small capture those were 0.02-0.04 s of a 0.2 s run, where the ratio to Zircolite
is decided by the two engines' fixed costs (x7.8 -> x9.4-9.7 on 728 events; benchmarks/README.md).
Nor does it close that database (the command owns it; closing frees its memory: 6-11 ms). `--help`
(or a usage error) needs no database: the set-up is waited for on every way out but `_leave`, as a
process must not reach the interpreter's teardown while it runs. A tiny input's hunt may not need it
either (`lake.detect.text_scan`): then it is not started at all (`start_hunt_database`).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from mantissa_log.services.detection.hunt_database import PendingDatabase


def main() -> None:
    if sys.argv[1:2] == ["hunt"]:
        arguments = sys.argv[2:]
        database = None
        if not {"-h", "--help"} & set(arguments):
            from mantissa_log.services.detection.hunt_database import start_hunt_database

            database = start_hunt_database(arguments)
        try:
            from mantissa_log.cli.hunt import run_hunt

            code = run_hunt(arguments, database)
        except BaseException:  # a usage error (argparse's SystemExit) and the like: the usual exit follows
            if database is not None:
                database.settle()
            raise
        # A finished hunt ends at once (`_leave`), without the interpreter's teardown: a set-up still
        # running (a hunt answered in Python while it ran) is not waited for.
        _leave(code, database)
    from mantissa_log.cli.app import app

    app()


def _leave(code: int, database: PendingDatabase | None) -> NoReturn:
    """End a finished hunt: its output flushed, then out at once.

    A hunt has written everything it writes (its scratch files are removed in its own `finally`, the
    compiled-rule cache's entries are renamed into place when written); what the interpreter's
    teardown would still do is free every module and the in-memory database, 10-15 ms of nothing.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # the reader went away (a closed pipe): the usual exit reports it
        if database is not None:
            database.settle()
        raise SystemExit(code) from None
    os._exit(code)
