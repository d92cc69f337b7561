"""`rules validate` with pySigma's checks, and `rules import` names that survive a second process."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.cli.test_cli import run
from tests.sigma.attack_stix import write_attack_stix

UUID_A = "5c2b0f1e-7d3a-4b8e-9c6d-1a2b3c4d5e01"
UUID_B = "5c2b0f1e-7d3a-4b8e-9c6d-1a2b3c4d5e02"


def rule(title: str, rule_id: str | None = None, tags: tuple[str, ...] = ()) -> str:
    lines = [f"title: {title}"] + ([f"id: {rule_id}"] if rule_id else [])
    lines += ["logsource: {product: aws, service: cloudtrail}", "detection:", "  sel: {eventName: StopLogging}"]
    lines += ["  condition: sel", "level: high"] + (["tags:"] + [f"  - {t}" for t in tags] if tags else [])
    return "\n".join(lines) + "\n"


def test_validate_prints_each_finding_with_file_and_line(tmp_path: Path) -> None:
    stix = str(write_attack_stix(tmp_path / "enterprise-attack.json"))
    rules = tmp_path / "rules"
    rules.mkdir()
    first, second = rules / "trail_stopped_a.yml", rules / "trail_stopped_b.yml"
    first.write_text(rule("Trail stopped", UUID_A, tags=("attack.defense-evasion", "attack.t9999")))
    second.write_text("# a copy\n" + rule("Trail stopped"))
    done = run(tmp_path, "rules", "validate", "--attack-data", stix, str(rules))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        f"{first}:1: error: Rule title used by multiple rules: 'Trail stopped' (also {second}:2) [duplicate_title]",
        f"{first}:10: warning: Invalid MITRE ATT&CK tagging: attack.t9999 [attacktag]",
        f"{second}:2: warning: Rule has no identifier (UUID) [identifier_existence]",
        f"{second}:2: error: Rule title used by multiple rules: 'Trail stopped' (also {first}:1) [duplicate_title]",
        "2 files, 2 errors, 2 warnings",
    ]

    second.write_text(rule("Trail deleted"))  # warnings only: they pass unless --strict
    done = run(tmp_path, "rules", "validate", "--attack-data", stix, str(rules))
    assert done.returncode == 0, done.stdout
    assert f"{first}: ok (cloudtrail, high)" in done.stdout
    assert f"{second}:1: warning: Rule has no identifier (UUID) [identifier_existence]" in done.stdout
    strict = run(tmp_path, "rules", "validate", "--strict", "--attack-data", stix, str(rules))
    assert strict.returncode == 1
    assert f"{second}:1: error: Rule has no identifier (UUID) [identifier_existence]" in strict.stdout


def test_validate_says_when_attack_tags_could_not_be_checked(tmp_path: Path) -> None:
    tagged = tmp_path / "tagged_rule.yml"
    tagged.write_text(rule("Tagged", UUID_A, tags=("attack.t9999",)))
    missing = str(tmp_path / "missing.json")
    done = run(tmp_path, "rules", "validate", "--attack-data", missing, str(tagged))
    assert done.returncode == 0, done.stdout
    assert "warning: check attacktag not run: Failed to load MITRE ATT&CK data" in done.stdout
    assert "MANTISSA_ATTACK_DATA" in done.stdout
    assert done.stdout.splitlines()[-1] == "1 file, 0 errors, 0 warnings, 1 check(s) not run"
    strict = run(tmp_path, "rules", "validate", "--strict", "--attack-data", missing, str(tagged))
    assert strict.returncode == 1  # unchecked is not clean
    assert "error: check attacktag not run" in strict.stdout


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
