"""Integration settings: the seed's four access patterns plus lifecycle operations.

`config` is stored as an envelope (AES-256-GCM data key per item, wrapped by the master key
or KMS) bound to its item's key, so a raw dump of the state holds no config in clear and
an envelope copied onto another row does not decrypt.
"""

from __future__ import annotations

from typing import Any

from mantissa_log.domain.common import IntegrationType, RunStatus
from mantissa_log.domain.integrations import Integration, IntegrationStatus, parse_integration
from mantissa_log.errors import Conflict, NotFound
from mantissa_log.state.backend import Item, Key, StateBackend
from mantissa_log.state.conditions import Compare, Exists, NotExists
from mantissa_log.state.repositories.common import FieldCipher, ModelPage
from mantissa_log.state.tables import INTEGRATION_SETTINGS, INTEGRATION_TYPE_INDEX


def _key(user_id: str, integration_id: str) -> Key:
    return {"user_id": user_id, "integration_id": integration_id}


def config_aad(user_id: str, integration_id: str) -> str:
    return f"integration:{user_id}:{integration_id}"


class IntegrationRepository:
    def __init__(self, backend: StateBackend, cipher: FieldCipher) -> None:
        self.backend = backend
        self.cipher = cipher

    # -- stored form -----------------------------------------------------------------------
    def _to_item(self, integration: Integration) -> Item:
        item = integration.dump()
        item["config"] = self.cipher.encrypt_json(
            item["config"], config_aad(integration.user_id, integration.integration_id)
        )
        return item

    def _from_item(self, item: Item) -> Integration:
        data: dict[str, Any] = dict(item)
        data["config"] = self.cipher.decrypt_json(data["config"], config_aad(data["user_id"], data["integration_id"]))
        return parse_integration(data)

    def _page(self, items: list[Item], next_key: Key | None) -> ModelPage[Integration]:
        return ModelPage([self._from_item(i) for i in items], next_key)

    # -- seed access patterns --------------------------------------------------------------
    def list_integrations_for_user(
        self,
        user_id: str,
        *,
        integration_type: IntegrationType | None = None,
        limit: int | None = None,
        start_key: Key | None = None,
    ) -> ModelPage[Integration]:
        """Pattern 1: Query(user_id), optionally only one type (filtered in the query: pages stay full)."""
        wanted = None if integration_type is None else Compare("integration_type", "=", integration_type)
        page = self.backend.query(INTEGRATION_SETTINGS, user_id, limit=limit, start_key=start_key, filter=wanted)
        return self._page(page.items, page.next_key)

    def get_integration(self, user_id: str, integration_id: str) -> Integration | None:
        """Pattern 2: GetItem(user_id, integration_id)."""
        item = self.backend.get(INTEGRATION_SETTINGS, _key(user_id, integration_id))
        return None if item is None else self._from_item(item)

    def list_integrations_by_type(
        self, integration_type: IntegrationType, *, limit: int | None = None, start_key: Key | None = None
    ) -> ModelPage[Integration]:
        """Pattern 3: Query IntegrationTypeIndex where integration_type = :t (all users)."""
        page = self.backend.query(
            INTEGRATION_SETTINGS,
            integration_type,
            index=INTEGRATION_TYPE_INDEX,
            limit=limit,
            start_key=start_key,
        )
        return self._page(page.items, page.next_key)

    def record_test(
        self,
        user_id: str,
        integration_id: str,
        *,
        at: str,
        status: RunStatus,
        error: str | None,
        integration_status: IntegrationStatus,
    ) -> Integration:
        """Pattern 4: UpdateItem(last_test, last_test_status, ...)."""
        set_values: dict[str, Any] = {
            "last_test": at,
            "last_test_status": status,
            "status": integration_status,
            "updated_at": at,
        }
        remove = []
        if error:
            set_values["last_test_error"] = error[:2000]
        else:
            remove.append("last_test_error")
        try:
            item = self.backend.update(
                INTEGRATION_SETTINGS,
                _key(user_id, integration_id),
                set_values=set_values,
                remove=remove,
                condition=Exists("integration_id"),
            )
        except Conflict:
            raise NotFound(f"no integration {integration_id}", field="integration_id") from None
        return self._from_item(item)

    # -- lifecycle -------------------------------------------------------------------------
    def create_integration(self, integration: Integration) -> None:
        try:
            self.backend.put(INTEGRATION_SETTINGS, self._to_item(integration), condition=NotExists("integration_id"))
        except Conflict:
            raise Conflict(f"integration {integration.integration_id} already exists", field="integration_id") from None

    def replace_integration(self, integration: Integration) -> None:
        try:
            self.backend.put(INTEGRATION_SETTINGS, self._to_item(integration), condition=Exists("integration_id"))
        except Conflict:
            raise NotFound(f"no integration {integration.integration_id}", field="integration_id") from None

    def set_status(self, user_id: str, integration_id: str, status: IntegrationStatus, at: str) -> None:
        try:
            self.backend.update(
                INTEGRATION_SETTINGS,
                _key(user_id, integration_id),
                set_values={"status": status, "updated_at": at},
                condition=Exists("integration_id"),
            )
        except Conflict:
            raise NotFound(f"no integration {integration_id}", field="integration_id") from None

    def delete_integration(self, user_id: str, integration_id: str) -> bool:
        return self.backend.delete(INTEGRATION_SETTINGS, _key(user_id, integration_id))

    def stored_items(self) -> list[Item]:
        """Raw stored items (encrypted config) for key rotation."""
        return list(self.backend.scan(INTEGRATION_SETTINGS))

    def put_stored_item(self, item: Item) -> None:
        self.backend.put(INTEGRATION_SETTINGS, item)
