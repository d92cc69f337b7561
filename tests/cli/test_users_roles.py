"""`users create --role` and `users token --ingest`: the roles an operator hands out from the CLI."""

from __future__ import annotations

from pathlib import Path

from mantissa_log.config import Settings
from mantissa_log.services.container import build_services
from tests.cli.test_cli import run


def test_roles_and_ingest_tokens_from_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = {}
    for name, *flags in (("root", "--admin"), ("ana",), ("fluent-bit", "--role", "ingest")):
        done = run(home, "users", "create", name, *flags)
        assert done.returncode == 0, done.stderr
        created[name] = done.stdout.strip().splitlines()[-1]
    narrowed = run(home, "users", "token", "ana", "--ingest", "--description", "shipper on web-1")
    assert narrowed.returncode == 0, narrowed.stderr
    clash = run(home, "users", "create", "x", "--admin", "--role", "analyst")
    assert clash.returncode == 2
    assert "role" in clash.stderr
    listing = run(home, "users", "list").stdout
    for word in ("fluent-bit", "ingest", "admin", "analyst"):
        assert word in listing
    services = build_services(Settings(home=home))
    try:
        roles = {name: services.users.authenticate(token).role for name, token in created.items()}
        assert roles == {"root": "admin", "ana": "analyst", "fluent-bit": "ingest"}
        assert services.users.authenticate(narrowed.stdout.strip().splitlines()[-1]).role == "ingest"
    finally:
        services.close()
