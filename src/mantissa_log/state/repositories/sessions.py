"""Web sessions (hash of the cookie value only), ended by their TTL or by logging out."""

from __future__ import annotations

from mantissa_log.domain.sessions import Flash, WebSessionItem
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.conditions import Exists, NotExists
from mantissa_log.state.tables import WEB_SESSIONS


class SessionRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def create(self, session: WebSessionItem) -> None:
        self.backend.put(WEB_SESSIONS, session.dump(), condition=NotExists("session_hash"))

    def get(self, session_hash: str) -> WebSessionItem | None:
        item = self.backend.get(WEB_SESSIONS, {"session_hash": session_hash})
        return None if item is None else WebSessionItem.model_validate(item)

    def delete(self, session_hash: str) -> None:
        self.backend.delete(WEB_SESSIONS, {"session_hash": session_hash})

    def set_flash(self, session_hash: str, flash: list[Flash]) -> None:
        """Replace the session's pending messages; nothing happens if the session ended meanwhile."""
        key = {"session_hash": session_hash}
        try:
            if flash:
                self.backend.update(
                    WEB_SESSIONS, key, set_values={"flash": [f.dump() for f in flash]}, condition=Exists("session_hash")
                )
            else:
                self.backend.update(WEB_SESSIONS, key, remove=("flash",), condition=Exists("session_hash"))
        except Conflict:
            pass
