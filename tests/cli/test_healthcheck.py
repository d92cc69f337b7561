"""`mantissa-log healthcheck`: what the container image's HEALTHCHECK runs, for serve and worker."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.test_cli import EXE, run
from tests.fixtures_moto import free_port


def test_a_running_worker_is_healthy_and_a_home_without_one_is_not(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "healthcheck", "--worker").returncode == 1  # no worker has ever run here
    env = os.environ | {"MANTISSA_HOME": str(home)}
    worker = subprocess.Popen([EXE, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (home / "worker.heartbeat").exists():
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "no heartbeat within 60 s"
            time.sleep(0.3)
        checked = run(home, "healthcheck", "--worker")
        assert checked.returncode == 0, checked.stdout
        by_env = subprocess.run(
            [EXE, "healthcheck"],
            env=env | {"MANTISSA_HEALTHCHECK": "worker"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert by_env.returncode == 0, by_env.stdout
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    (home / "worker.heartbeat").write_text(str(time.time() - 120))  # a worker gone two minutes ago
    assert run(home, "healthcheck", "--worker").returncode == 1


def test_serve_healthcheck_fails_when_nothing_answers(tmp_path: Path) -> None:
    done = run(tmp_path, "healthcheck", "--url", f"http://127.0.0.1:{free_port()}/healthz")
    assert done.returncode == 1
    assert "unhealthy" in done.stdout
