"""The data home is private (directories 0700, files 0600) whatever the umask the service started with."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    os.umask(0o022)  # a typical service umask: files 0644, directories 0755
    from mantissa_log.config import Settings
    from mantissa_log.services.container import build_services
    from mantissa_log.services.identity import Principal
    from mantissa_log.services.detection.rules import RuleWrite
    from mantissa_log.domain.settings import UserSettingsPut

    home = Path(sys.argv[1])
    services = build_services(Settings(home=home))
    if not services.users.exists("alice"):
        services.users.create_user("alice")
    event = {"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com", "eventTime": "2026-01-01T00:00:00Z"}
    services.logs.ingest_bytes("cloudtrail", (json.dumps(event) + "\\n").encode())
    body = (
        "title: t\\nlogsource: {product: aws, service: cloudtrail}\\n"
        "detection:\\n  sel: {eventName: x}\\n  condition: sel\\n"
    )
    services.rules.create(Principal("alice"), RuleWrite(rule_name=sys.argv[2], body=body), "api")
    services.audit.record(actor="cli", action="test")
    settings = UserSettingsPut(llm_provider="openai", api_key="sk-proj-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2")
    services.settings.put(Principal("alice"), settings)
    services.admin.backup(home / "backups" / "b.tar.gz")
    services.close()
    """
)


def _loose(home: Path) -> list[str]:
    found = []
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(home)}: {mode:o}")
    return found


def _run(home: Path, rule: str = "r1") -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(home), rule], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_everything_under_a_new_home_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _run(home)
    names = {p.name for p in home.rglob("*")}
    assert {"state.db", "lake", "rules", "keys", "audit", "b.tar.gz"} <= names
    assert any(name.endswith(".parquet") for name in names)
    assert _loose(home) == []


def test_an_existing_home_with_loose_modes_is_tightened(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _run(home)
    os.chmod(home, 0o755)  # noqa: S103 - the loose modes an older installation left
    os.chmod(home / "state.db", 0o644)
    os.chmod(home / "lake", 0o755)  # noqa: S103
    _run(home, "r2")
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "state.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "lake").stat().st_mode) == 0o700
