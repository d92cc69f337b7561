"""Known secrets written through the API appear nowhere at rest: not under the data home, not in DynamoDB."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from fastapi.testclient import TestClient

from mantissa_log.services.container import Services
from mantissa_log.state.tables import ALL_TABLES
from tests.api.test_integrations_api import ALL, BEARER, JIRA_TOKEN, PD_KEY, SLACK_URL
from tests.fixtures_api import ApiUser

LLM_KEY = "sk-ant-api03-Qm9vZ2xlU2VjcmV0S2V5Rm9yVGVzdHMxMjM0NTY3OA"
SECRETS = [LLM_KEY, SLACK_URL, PD_KEY, JIRA_TOKEN, BEARER]


def _needles(secret: str) -> list[bytes]:
    # The plain bytes, and the JSON-escaped form a store might write (`/` as `\/`).
    return [secret.encode(), json.dumps(secret)[1:-1].encode(), secret.replace("/", "\\/").encode()]


def _files_under(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()]


def test_no_secret_under_the_data_home_or_in_tables(
    api: TestClient, alice: ApiUser, services: Services, backend_kind: str
) -> None:
    assert (
        api.put(
            "/api/v1/settings", headers=alice.headers, json={"llm_provider": "anthropic", "api_key": LLM_KEY}
        ).status_code
        == 200
    )
    for body in ALL:
        assert api.post("/api/v1/integrations", headers=alice.headers, json=body).status_code == 201
    # Every stored secret is really there (so the scan below is meaningful) ...
    ref = api.get("/api/v1/settings", headers=alice.headers).json()["api_key_secret_id"]
    assert services.infra.secrets.get(ref) == LLM_KEY
    # ... yet no byte of any file under the data home (SQLite file, WAL, key file, rules) holds one.
    # The requests' audit records are written off the request path: all of them are checked too.
    services.audit.flush()
    services.infra.backend.close()
    files = _files_under(services.config.home)
    assert files, "the data home is empty: nothing was scanned"
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            for needle in _needles(secret):
                assert needle not in data, f"secret found in {path}"
    # ... and no stored item (as the backend returns it) holds one either.
    dump = json.dumps([list(services.infra.backend.scan(spec)) for spec in ALL_TABLES])
    for secret in SECRETS:
        assert secret not in dump
    if backend_kind == "dynamodb":
        client = boto3.client("dynamodb", endpoint_url=services.config.dynamodb_endpoint_url, region_name="us-east-1")
        raw = ""
        for spec in ALL_TABLES:
            raw += json.dumps(client.scan(TableName=spec.physical_name(services.config.environment))["Items"])
        assert "secret_arn" in raw  # the scan saw real items
        for secret in SECRETS:
            assert secret not in raw
