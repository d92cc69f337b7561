"""Ingest, hunt and rules from the command line, on real files."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

from tests.api.test_rules_api import RULE
from tests.cli.test_cli import EXE, run

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def test_ingest_reports_counts_and_reasons(tmp_path: Path) -> None:
    good = CORPUS / "events" / "stratus__aws.defense-evasion.cloudtrail-stop.jsonl"
    records = [json.loads(line) for line in good.read_text().splitlines() if line.strip()]
    delivery = tmp_path / "delivery.json.gz"
    delivery.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(records[0]) + "\nnot json\n")
    done = run(tmp_path / "home", "ingest", "--source", "cloudtrail", str(delivery), str(broken))
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    # broken.jsonl repeats the first record of the delivery file: a duplicate, not stored twice.
    assert (summary["accepted"], summary["duplicates"], summary["rejected"]) == (len(records), 1, 1)
    assert "broken.jsonl:2" in done.stderr
    bad = run(tmp_path / "home", "ingest", "--source", "syslog", str(broken))
    assert bad.returncode == 2
    assert "source" in bad.stderr


def test_hunt_json_output(tmp_path: Path) -> None:
    rule = tmp_path / "rule.yml"
    rule.write_text(RULE)
    unsupported = tmp_path / "weird.yml"
    unsupported.write_text("title: x\nlogsource: {product: mainframe}\ndetection: {sel: {a: 1}, condition: sel}\n")
    events = CORPUS / "events" / "stratus__aws.defense-evasion.cloudtrail-stop.jsonl"
    done = run(
        tmp_path, "hunt", "--rules", str(rule), "--rules", str(unsupported), "--events", str(events), "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    findings = [f for f in lines if "matches" in f]
    errors = [f for f in lines if "error" in f]
    assert findings == [
        {
            "rule_id": "7d0e5a4c-8a0b-4f5e-9a51-6a3c0f1d2e3f",
            "rule_title": "CloudTrail logging stopped",
            "rule_file": str(rule),
            "events_file": str(events),
            "matches": 1,
        }
    ]
    assert [e["rule_file"] for e in errors] == [str(unsupported)]
    assert "logsource" in errors[0]["error"]


def test_rules_validate_test_import_and_run(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "trail_stop.yml").write_text(RULE)
    bad = RULE.replace("rate(5 minutes)", "rate(0 minutes)").replace("logging stopped", "logging stopped, bad")
    (rules_dir / "bad.yml").write_text(bad.replace("7d0e5a4c-", "7d0e5a4d-"))  # a copy's id and title would clash
    validated = run(tmp_path, "rules", "validate", str(rules_dir))
    assert validated.returncode == 1
    assert "bad.yml:10" in validated.stdout
    assert "ok" in validated.stdout
    tested = run(tmp_path, "rules", "test", str(rules_dir / "trail_stop.yml"))
    assert tested.returncode == 0, tested.stdout
    assert tested.stdout.count("pass") == 2
    home = tmp_path / "home"
    assert run(home, "users", "create", "alice").returncode == 0
    imported = run(home, "rules", "import", "--user", "alice", str(rules_dir))
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 rules, refused 1" in imported.stdout
    events = CORPUS / "events" / "stratus__aws.defense-evasion.cloudtrail-stop.jsonl"
    assert run(home, "ingest", "--source", "cloudtrail", str(events)).returncode == 0
    ran = run(home, "rules", "run", "trail_stop", "--user", "alice", "--since", "2000-01-01T00:00:00")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["matches"] == 1
    assert len(result["alerts_created"]) == 1


def test_sigmahq_directory_imports(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "users", "create", "alice").returncode == 0
    aws = tmp_path / "aws"
    aws.mkdir()
    for path in sorted(CORPUS.glob("rules/aws_*.yml"))[:12]:
        (aws / path.name).write_text(path.read_text())
    imported = run(home, "rules", "import", "--user", "alice", str(aws))
    assert imported.returncode == 0, imported.stderr
    assert "imported 12 rules, refused 0" in imported.stdout


def test_starter_pack_imports(tmp_path: Path) -> None:
    from mantissa_log.starter_rules import starter_rule_files

    home = tmp_path / "home"
    assert run(home, "users", "create", "alice").returncode == 0
    imported = run(home, "rules", "import", "--user", "alice", "--starter")
    assert imported.returncode == 0, imported.stderr
    assert f"imported {len(starter_rule_files())} rules, refused 0" in imported.stdout
    assert run(home, "rules", "import", "--user", "alice").returncode == 2  # nothing named


def test_hunt_errors_name_the_option(tmp_path: Path) -> None:
    rule = tmp_path / "rule.yml"
    rule.write_text(RULE)
    events = CORPUS / "events" / "stratus__aws.defense-evasion.cloudtrail-stop.jsonl"
    missing = run(tmp_path, "hunt", "--rules", str(tmp_path / "nope.yml"), "--events", str(events))
    assert (missing.returncode, missing.stdout) == (2, "")
    assert "nope.yml" in missing.stderr
    assert "--rules" in missing.stderr
    missing_events = run(tmp_path, "hunt", "-r", str(rule), "-e", str(tmp_path / "gone"))
    assert missing_events.returncode == 2
    assert "--events" in missing_events.stderr
    bad_format = run(tmp_path, "hunt", "-r", str(rule), "-e", str(events), "--format", "xml")
    assert bad_format.returncode == 2
    assert "--format" in bad_format.stderr
    no_events = run(tmp_path, "hunt", "-r", str(rule))
    assert no_events.returncode == 2
    assert "--events" in no_events.stderr
    several = run(tmp_path, "hunt", "-r", str(rule), str(tmp_path / "second.yml"), "-e", str(events))
    assert several.returncode == 2  # both paths were taken as rules: the second does not exist
    assert "second.yml" in several.stderr
    table = run(tmp_path, "hunt", "-r", str(rule), "-e", str(events))
    assert table.returncode == 0
    assert "CloudTrail logging stopped" in table.stdout


def test_hunt_starts_without_the_typer_application(tmp_path: Path) -> None:
    # A hunt's start time is measured against Zircolite (make bench-hunt): it is dispatched before
    # Typer, Click and Rich are imported; `--help` still lists it.
    rule = tmp_path / "rule.yml"
    rule.write_text(RULE)
    events = CORPUS / "events" / "stratus__aws.defense-evasion.cloudtrail-stop.jsonl"
    env = os.environ | {"MANTISSA_HOME": str(tmp_path), "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(
        [EXE, "hunt", "-r", str(rule), "-e", str(events), "-f", "json"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "mantissa_log.lake.detect.hunt" in imported
    assert not {name for name in imported if name.split(".")[0] in ("typer", "click", "rich")}
    assert "hunt" in run(tmp_path, "--help").stdout
