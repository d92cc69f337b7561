"""`rules import` names that survive a second process."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.cli.test_cli import run

UUID_A = "5c2b0f1e-7d3a-4b8e-9c6d-1a2b3c4d5e01"
UUID_B = "5c2b0f1e-7d3a-4b8e-9c6d-1a2b3c4d5e02"


def rule(title: str, rule_id: str | None = None, tags: tuple[str, ...] = ()) -> str:
    lines = [f"title: {title}"] + ([f"id: {rule_id}"] if rule_id else [])
    lines += ["logsource: {product: aws, service: cloudtrail}", "detection:", "  sel: {eventName: StopLogging}"]
    lines += ["  condition: sel", "level: high"] + (["tags:"] + [f"  - {t}" for t in tags] if tags else [])
    return "\n".join(lines) + "\n"


def test_importing_a_folder_again_in_a_new_process_reuses_the_names(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "users", "create", "alice").returncode == 0
    folder = tmp_path / "rules"
    folder.mkdir()
    # File names that are not rule names: each needs a derived one, which must not change per process.
    (folder / "trail_stop.yml").write_text(rule("Plain name", UUID_A))
    (folder / "_draft.yml").write_text(rule("Leading underscore"))
    (folder / "ルール.yml").write_text(rule("Japanese name with id", UUID_B))
    (folder / "検知.yml").write_text(rule("Japanese name without id"))
    expected = {"trail_stop", "draft", f"rule-{UUID_B}", "rule-" + hashlib.sha256("検知".encode()).hexdigest()[:16]}

    first = run(home, "rules", "import", "--user", "alice", str(folder))
    assert first.returncode == 0, first.stderr
    assert "imported 4 rules, refused 0" in first.stdout
    names = set(re.findall(r" as (\S+)$", first.stdout, re.MULTILINE))

    again = run(home, "rules", "import", "--user", "alice", str(folder))
    assert again.returncode == 0, again.stderr
    assert "imported 0 rules, refused 4" in again.stdout, again.stdout  # not four new copies
    assert set(re.findall(r"rule (\S+) already exists", again.stdout)) == names
    assert names == expected
