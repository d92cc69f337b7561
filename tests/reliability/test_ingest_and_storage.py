"""The same file twice stores nothing twice; a full disk answers 507 naming what is full, never 500."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mantissa_log.api.app import create_app
from mantissa_log.config import Settings
from mantissa_log.services.container import Services, build_services
from tests.lake.conftest import corpus_records, jsonl

EXE = str(Path(sys.executable).parent / "mantissa-log")


def rows(services: Services, source: str = "cloudtrail") -> int:
    (info,) = [s for s in services.logs.sources() if s.name == source]
    return info.rows


def test_the_same_file_ingested_twice_from_the_cli_and_the_api_is_stored_once(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(jsonl(corpus_records(300)))
    home = tmp_path / "home"
    env = os.environ | {"MANTISSA_HOME": str(home)}
    reports = []
    for _ in range(2):
        done = subprocess.run([EXE, "ingest", "--source", "cloudtrail", str(events)], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr
        reports.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))
    assert [(r["accepted"], r["duplicates"]) for r in reports] == [(300, 0), (0, 300)]
    services = build_services(Settings(home=home))
    try:
        _, token = services.users.create_user("shipper", role="ingest")
        with TestClient(create_app(services.config, services)) as api:
            retried = api.post(
                "/api/v1/ingest/cloudtrail", content=events.read_bytes(), headers={"Authorization": f"Bearer {token}"}
            )
        assert retried.status_code == 200, retried.text
        assert (retried.json()["accepted"], retried.json()["duplicates"]) == (0, 300)
        assert rows(services) == 300
    finally:
        services.close()


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[bool]:
    """A real, small filesystem (tmpfs) at `folder` when this process may mount one."""
    folder.mkdir(parents=True)
    try:
        command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
        ok = subprocess.run(command, capture_output=True).returncode == 0
    except OSError:
        ok = False
    try:
        yield ok
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_full_lake_disk_answers_507_naming_the_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with small_disk(tmp_path / "disk", "4m") as real:
        services = build_services(Settings(home=tmp_path / "disk" / "home"))
        if not real:
            # No privilege to mount a small disk here: the lake's writes get the kernel's answer instead.
            def no_room(fd: int) -> None:
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(os, "fsync", no_room)
        try:
            _, token = services.users.create_user("shipper", role="ingest")
            headers = {"Authorization": f"Bearer {token}"}
            records = corpus_records(40)
            big = [
                r | {"eventID": f"{copy}-{n}", "padding": os.urandom(2000).hex()}  # incompressible
                for copy in range(60)
                for n, r in enumerate(records)
            ]
            body = jsonl(big)  # ~10 MB of distinct events: more than the disk holds
            with TestClient(create_app(services.config, services)) as api:
                answer = api.post("/api/v1/ingest/cloudtrail", content=body, headers=headers)
                assert answer.status_code == 507, answer.text
                assert answer.json()["error"] == {
                    "code": "insufficient_storage",
                    "message": "the log lake's disk is full",
                }
                # Nothing partial: no event stored, no temporary file left; the API still answers.
                assert api.get("/api/v1/me", headers=headers).status_code == 200
            assert rows(services) == 0
            assert not [p for p in (tmp_path / "disk" / "home" / "lake").rglob("*.tmp")]
        finally:
            services.close()


def test_a_full_state_disk_answers_507_naming_the_state_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with small_disk(tmp_path / "disk", "3m") as real:
        services = build_services(Settings(home=tmp_path / "disk" / "home"))
        try:
            _, token = services.users.create_user("alice")
            headers = {"Authorization": f"Bearer {token}"}
            if real:
                filler = tmp_path / "disk" / "filler"
                with contextlib.suppress(OSError), filler.open("wb") as out:
                    while True:
                        out.write(b"\0" * 65536)
            else:
                # No mount here: SQLite's own page limit gives the same "database or disk is full".
                backend = services.infra.backend
                opened = backend._conn  # type: ignore[attr-defined]

                def capped() -> sqlite3.Connection:
                    connection: sqlite3.Connection = opened()
                    connection.execute("PRAGMA max_page_count = 1")  # never below the current size
                    return connection

                monkeypatch.setattr(backend, "_conn", capped)
            statuses = []
            with TestClient(create_app(services.config, services)) as api:
                # Writes fill the last free pages; then every write that needs a page is refused.
                for n in range(300):
                    hook = {"url": f"https://hooks.example.com/{n}/" + "p" * 1500, "retry_count": 0}
                    body = {"integration_id": f"hook-{n}", "integration_type": "webhook", "config": hook}
                    answer = api.post("/api/v1/integrations", headers=headers, json=body)
                    statuses.append(answer.status_code)
                    if answer.status_code != 201:
                        break
            assert set(statuses) <= {201, 507}, statuses  # never a 500
            assert statuses[-1] == 507
            assert answer.json()["error"]["message"] == "the state store's disk is full"
        finally:
            services.close()
