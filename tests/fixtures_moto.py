"""A real moto_server on loopback for the whole test session (DynamoDB, Secrets Manager, KMS, S3).

Started by PID and stopped by PID; every test gets its own table environment name so tests never
see each other's items.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    for name, value in AWS_ENV.items():
        os.environ.setdefault(name, value)
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    root = Path(__file__).resolve().parent.parent
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.moto_serialized", "127.0.0.1", str(port)], stdout=out, stderr=out, cwd=root
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto_server did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    yield url
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def environment_name() -> str:
    """A table environment unique to one test: `mantissa-log-<table>-<this>`."""
    return "t" + uuid.uuid4().hex[:12]
