"""How `mantissa-log hunt` ends: output flushed, then out without the interpreter's teardown."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest

from mantissa_log.cli import main as cli_main
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.lake.detect.tiny import ROUTED_BYTES
from tests.cli.test_cli import EXE


class _Left(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class _Pipe(io.StringIO):
    """A stdout whose text counts as written only once flushed; its reader may have gone away."""

    def __init__(self, *, closed_reader: bool = False) -> None:
        super().__init__()
        self.closed_reader = closed_reader
        self.flushed = ""

    def flush(self) -> None:
        if self.closed_reader:
            raise BrokenPipeError("the reader went away")
        self.flushed = self.getvalue()


def test_leave_flushes_then_exits_with_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _Pipe()
    out.write('{"rule_id":"r"}\n')

    def exit_now(code: int) -> None:
        # The output must be flushed before the process ends: os._exit would drop any buffer.
        assert out.flushed == '{"rule_id":"r"}\n'
        raise _Left(code)

    monkeypatch.setattr(cli_main.sys, "stdout", out)
    monkeypatch.setattr(cli_main.os, "_exit", exit_now)
    with pytest.raises(_Left) as left:
        cli_main._leave(3, None)
    assert left.value.code == 3


def test_leave_on_a_closed_pipe_takes_the_usual_exit_once_the_database_is_set_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli_main.sys, "stdout", _Pipe(closed_reader=True))
    monkeypatch.setattr(cli_main.os, "_exit", lambda code: pytest.fail("os._exit despite a failed flush"))
    database = PendingDatabase()
    settled: list[bool] = []
    real_settle = database.settle
    monkeypatch.setattr(database, "settle", lambda: settled.append(True) or real_settle())
    try:
        with pytest.raises(SystemExit) as exited:
            cli_main._leave(0, database)
    finally:
        database.close()
    assert exited.value.code == 0
    assert settled  # the usual exit's teardown must not meet the set-up still running


def test_usage_errors_while_the_database_is_set_up_end_cleanly(tmp_path: Path) -> None:
    # A usage error ends the process while the hunt's database may still be being set up on its
    # thread; reaching the interpreter's teardown then aborted the process (SIGABRT, exit -6).
    events = tmp_path / "events.jsonl"
    # Beyond ROUTED_BYTES, so that the set-up starts at once (a smaller input's starts only when needed).
    events.write_text('{"eventName": "StopLogging"}\n' * (ROUTED_BYTES // 20))
    assert events.stat().st_size > ROUTED_BYTES
    env = os.environ | {"MANTISSA_HOME": str(tmp_path / "home")}
    for _ in range(5):
        done = subprocess.run(
            [EXE, "hunt", "-r", str(tmp_path), "-e", str(events), "--format", "xml"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert "--format" in done.stderr
