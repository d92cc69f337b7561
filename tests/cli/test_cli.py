"""The command line as an operator uses it: real processes, real files, a real server on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fixtures_moto import free_port

EXE = str(Path(sys.executable).parent / "mantissa-log")


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MANTISSA_HOME": str(home)}
    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_users_create_prints_token_alone_on_last_line(tmp_path: Path) -> None:
    done = run(tmp_path, "users", "create", "alice", "--admin")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("mlt_")
    assert " " not in token
    assert token.encode() not in (tmp_path / "state.db").read_bytes()
    again = run(tmp_path, "users", "create", "alice")
    assert again.returncode == 2
    assert "already exists" in again.stderr
    bad = run(tmp_path, "users", "create", "bad name")
    assert bad.returncode == 2
    assert "user_id" in bad.stderr


def test_bad_configuration_names_the_variable(tmp_path: Path) -> None:
    env = os.environ | {"MANTISSA_HOME": str(tmp_path), "MANTISSA_STATE_BACKEND": "postgres"}
    done = subprocess.run([EXE, "users", "list"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "MANTISSA_STATE_BACKEND" in done.stderr


def test_backup_restore_and_audit_verify(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "users", "create", "alice").returncode == 0
    archive = tmp_path / "b.tar.gz"
    assert run(home, "backup", str(archive)).returncode == 0
    assert run(home, "users", "create", "bob").returncode == 0
    restored = run(home, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert "kept as they were: API tokens, existing users, the audit log" in restored.stdout
    listing = run(home, "users", "list").stdout
    assert "alice" in listing
    assert "bob" in listing  # identities and credentials are never rolled back by a restore
    verify = run(home, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert "audit chain OK" in verify.stdout
    rotate = run(home, "secrets", "rotate-key")
    assert rotate.returncode == 0, rotate.stderr
    missing = run(home, "restore", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 2
    assert "file" in missing.stderr


def test_serve_answers_on_loopback_and_prints_how_to_log_in(tmp_path: Path) -> None:
    port = free_port()
    env = os.environ | {"MANTISSA_HOME": str(tmp_path)}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([EXE, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        output = (tmp_path / "serve.log").read_text()
        token = next(line.strip() for line in output.splitlines() if line.strip().startswith("mlt_"))
        headers = {"Authorization": f"Bearer {token}"}
        me = httpx.get(base + "/api/v1/me", headers=headers).json()
        assert me == {"user_id": "admin", "is_admin": True, "role": "admin"}
        put = httpx.put(base + "/api/v1/settings", headers=headers, json={"ui_preferences": {"theme": "dark"}})
        assert put.status_code == 200
        assert httpx.get(base + "/api/v1/settings", headers=headers).json()["ui_preferences"]["theme"] == "dark"
        assert httpx.get(base + "/api/v1/settings").status_code == 401
        assert httpx.get(base + "/openapi.json").status_code == 401
        assert httpx.get(base + "/openapi.json", headers=headers).json()["info"]["title"] == "Mantissa Log"
        assert httpx.get(base + "/docs", headers=headers).status_code == 404
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
