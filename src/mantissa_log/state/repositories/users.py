"""Users and their API tokens (hash only)."""

from __future__ import annotations

from mantissa_log.domain.users import ApiToken, User
from mantissa_log.errors import Conflict
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.conditions import NotExists
from mantissa_log.state.tables import API_TOKENS, USERS


class UserRepository:
    def __init__(self, backend: StateBackend) -> None:
        self.backend = backend

    def create_user(self, user: User) -> None:
        try:
            self.backend.put(USERS, user.dump(), condition=NotExists("user_id"))
        except Conflict:
            raise Conflict(f"user {user.user_id} already exists", field="user_id") from None

    def get_user(self, user_id: str) -> User | None:
        item = self.backend.get(USERS, {"user_id": user_id})
        return None if item is None else User.model_validate(item)

    def list_users(self) -> list[User]:
        return [User.model_validate(i) for i in self.backend.scan(USERS)]

    def add_token(self, token: ApiToken) -> None:
        self.backend.put(API_TOKENS, token.dump(), condition=NotExists("token_hash"))

    def get_token(self, token_hash: str) -> ApiToken | None:
        item = self.backend.get(API_TOKENS, {"token_hash": token_hash})
        return None if item is None else ApiToken.model_validate(item)

    def tokens_of(self, user_id: str) -> list[ApiToken]:
        return [ApiToken.model_validate(i) for i in self.backend.scan(API_TOKENS) if i.get("user_id") == user_id]

    def delete_token(self, token_hash: str) -> bool:
        return self.backend.delete(API_TOKENS, {"token_hash": token_hash})
