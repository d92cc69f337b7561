"""Master-key rotation re-wraps every secret and config; the old key is gone and nothing is lost."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mantissa_log.secrets.vault import LocalVault
from mantissa_log.services.container import Services
from mantissa_log.services.identity import Principal
from mantissa_log.services.keys import rotate_master_key
from tests.api.test_integrations_api import ALL
from tests.fixtures_api import ApiUser


def test_rotation_keeps_everything_readable(api: TestClient, alice: ApiUser, services: Services) -> None:
    for body in ALL:
        assert api.post("/api/v1/integrations", headers=alice.headers, json=body).status_code == 201
    old_key = services.infra.keyring.active_id()
    assert isinstance(services.infra.secrets, LocalVault)
    result = rotate_master_key(
        services.infra.keyring, services.infra.cipher, services.infra.secrets, services.infra.repos.integrations
    )
    assert result.retired == [old_key]
    assert services.infra.keyring.key_ids() == [result.new_key_id]
    assert result.integration_configs == len(ALL)
    assert result.vault_entries == sum(1 for b in ALL if "secret" in b)
    for body in ALL:
        got = services.integrations.get(Principal("alice"), body["integration_id"])
        assert got.config.dump().items() >= {k: v for k, v in body["config"].items() if k != "headers"}.items()
        if "secret" in body:
            assert got.secret_arn is not None
            assert services.infra.secrets.get(got.secret_arn) == body["secret"]
