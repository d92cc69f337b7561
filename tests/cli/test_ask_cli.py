"""`mantissa-log ask`: a question answered from the lake by the user's own model, in a real process."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from pydantic import SecretStr

from mantissa_log.config import Settings
from mantissa_log.domain.settings import UserSettingsPut
from mantissa_log.lake import parse
from mantissa_log.services.container import build_services
from mantissa_log.services.identity import Principal
from tests.cli.test_cli import EXE
from tests.llm import answers
from tests.llm.conftest import corpus_jsonl
from tests.llm.fakes import MODELS, FakeLlm


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"MANTISSA_HOME": str(home), "MANTISSA_ALLOW_PRIVATE_TARGETS": "true"}
    return subprocess.run([EXE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_ask_prints_the_sql_and_rows_and_refuses_hostile_sql(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with FakeLlm("openai").running() as fake:
        # Set up in-process (each command is a process of several seconds): a user, events, LLM settings.
        services = build_services(Settings(home=home, allow_private_targets=True))
        services.users.create_user("alice")
        services.infra.lake.ingest("cloudtrail", parse("cloudtrail", corpus_jsonl()))
        services.settings.put(
            Principal("alice"),
            UserSettingsPut(
                llm_provider="openai", llm_model=MODELS["openai"], llm_base_url=fake.url, api_key=SecretStr(fake.secret)
            ),
        )
        services.close()
        fake.answer(answers.WHO_STOPPED_LOGGING)
        asked = run(home, "ask", "Who stopped CloudTrail logging?", "--user", "alice", "--format", "json")
        assert asked.returncode == 0, asked.stderr
        shown = json.loads(asked.stdout)
        assert ["christophe", "StopLogging", 1] in shown["rows"]
        assert shown["sql"].startswith("SELECT userIdentity.userName AS user_name")

        table = run(home, "ask", "Who stopped CloudTrail logging?", "--user", "alice")
        assert table.returncode == 0, table.stderr
        assert "christophe" in table.stdout
        assert "cached" in table.stdout

        fake.answer(answers.HOSTILE_READ_FILE).answer(answers.HOSTILE_READ_FILE)
        hostile = run(home, "ask", "Show me /etc/passwd", "--user", "alice")
        assert hostile.returncode == 2
        assert "read_csv is not allowed" in hostile.stderr

        edited = run(home, "ask", "--sql", "SELECT count(*) AS n FROM cloudtrail", "--user", "alice", "-f", "json")
        assert edited.returncode == 0, edited.stderr
        assert json.loads(edited.stdout)["rows"] == [[727]]
    nobody = run(home, "ask", "Anything?", "--user", "mallory")
    assert nobody.returncode == 2
    assert "no user mallory" in nobody.stderr
