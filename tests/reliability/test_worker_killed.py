"""kill -9 of the worker the moment its first alert is stored, then a restart (real processes).

Checked as an operator would: per rule, alerts and match counts equal the `hunt` oracle over the
same events; each destination receives each alert once; statistics count each run once;
detection resumes within one lease plus one tick.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from mantissa_log.config import Settings
from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER
from mantissa_log.services.container import build_services
from mantissa_log.services.detection.rules import RuleWrite
from mantissa_log.services.detection.runner import SETTLE_SECONDS
from mantissa_log.services.identity import Principal
from tests.delivery.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
EXE = str(Path(sys.executable).parent / "mantissa-log")
LEASE_SECONDS = 3
ALICE = Principal("alice")
# AWS rules of the corpus that fire on its events, and a few that do not.
RULES = [
    "aws_cloudtrail_disable_logging.yml",
    "aws_config_disable_recording.yml",
    "aws_guardduty_disruption.yml",
    "aws_iam_backdoor_users_keys.yml",
    "aws_ec2_disable_encryption.yml",
    "aws_s3_data_management_tampering.yml",
    "aws_cloudtrail_security_group_change_ingress_egress.yml",
    "aws_update_login_profile.yml",
    "aws_route_53_domain_transferred_to_another_account.yml",
]


def events_file(tmp_path: Path, copies: int = 4) -> Path:
    """Every corpus CloudTrail event, several times over as distinct events (own ids)."""
    lines = []
    for path in sorted((CORPUS / "events").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                lines.append(json.loads(line))
    out = tmp_path / "events.jsonl"
    with out.open("w") as handle:
        for copy in range(copies):
            for event in lines:
                handle.write(json.dumps(event | {"eventID": f"{copy}-{event.get('eventID', uuid.uuid4())}"}) + "\n")
    return out


def test_killed_worker_resumes_without_missing_or_doubling_anything(tmp_path: Path, environment_name: str) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name in RULES:
        shutil.copy(CORPUS / "rules" / name, rules_dir / name)
    events = events_file(tmp_path)
    home = tmp_path / "home"
    env = os.environ | {
        "MANTISSA_HOME": str(home),
        "MANTISSA_ENVIRONMENT": environment_name,
        "MANTISSA_ALLOW_PRIVATE_TARGETS": "true",
        "MANTISSA_RULE_LEASE_SECONDS": str(LEASE_SECONDS),
    }
    receiver = Receiver()
    services = build_services(Settings(home=home, environment=environment_name, allow_private_targets=True))
    try:
        services.users.create_user("alice")
        hook = {
            "integration_id": "hook",
            "integration_type": "webhook",
            "config": {"url": receiver.url + "/in", "retry_count": 0},
        }
        services.integrations.create(ALICE, INTEGRATION_WRITE_ADAPTER.validate_python(hook))
        for path in sorted(rules_dir.iterdir()):
            write = RuleWrite(rule_name=path.stem, body=path.read_text(), alert_destinations=["webhook"])
            services.rules.create(ALICE, write, "api")
        time.sleep(0.01)  # events arrive after the rules exist
        ingested = subprocess.run([EXE, "ingest", "--source", "cloudtrail", str(events)], env=env, capture_output=True)
        assert ingested.returncode == 0, ingested.stderr
        ingested_at = time.time()
        oracle_run = subprocess.run(
            [EXE, "hunt", "--rules", str(rules_dir), "--events", str(events), "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert oracle_run.returncode == 0, oracle_run.stderr
        oracle = {Path(f["rule_file"]).stem: f["matches"] for f in map(json.loads, oracle_run.stdout.splitlines())}
        assert len(oracle) >= 3, oracle  # the scenario needs several rules that fire

        # A scheduled run reads up to now minus the settle delay: wait until that covers the ingest,
        # so the first tick sees every event (a fast `hunt` above can end sooner than that).
        time.sleep(max(0.0, ingested_at + SETTLE_SECONDS + 0.1 - time.time()))
        crashed = subprocess.run(
            [sys.executable, "-m", "tests.reliability.crashing_worker"], env=env, cwd=ROOT, capture_output=True
        )
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        killed_at = time.monotonic()
        stored = services.infra.repos.alerts.list_alerts("alice", limit=1000).items
        assert len(stored) == 1  # it died right after storing its first alert
        assert stored[0].delivery_status == "routing"  # ... before routing it

        # Another worker runs as soon as the dead one's leases expire.
        time.sleep(LEASE_SECONDS + 0.2)
        restarted = subprocess.run([EXE, "worker", "--once"], env=env, capture_output=True, text=True)
        resumed_after = time.monotonic() - killed_at
        assert restarted.returncode == 0, restarted.stderr
        assert resumed_after < LEASE_SECONDS + 15  # one lease plus one (generous) tick

        alerts = services.infra.repos.alerts.list_alerts("alice", limit=1000).items
        per_rule: dict[str, list[int]] = {}
        for alert in alerts:
            per_rule.setdefault(alert.rule_name, []).append(alert.match_count)
        assert per_rule == {name: [count] for name, count in oracle.items()}
        # Each destination received each alert once, under a stable delivery id.
        delivered = [request.headers["x-mantissa-delivery"] for request in receiver.requests]
        assert sorted(delivered) == sorted(f"alice/{alert.alert_id}/hook" for alert in alerts)
        for name in RULES:
            rule = services.infra.repos.rules.get_rule("alice", Path(name).stem)
            assert rule is not None
            assert rule.executions == 1, (name, rule.executions)
            assert rule.alert_count == (1 if rule.rule_name in oracle else 0)
            assert rule.last_execution_status == "success"
    finally:
        receiver.stop()
        services.close()
