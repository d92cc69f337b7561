"""Form bodies (application/x-www-form-urlencoded), read without extra dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

from fastapi import Request

from mantissa_log.errors import ValidationFailed

MAX_FIELDS = 2000


@dataclass(frozen=True)
class Form:
    values: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[0] if found else default

    def text(self, name: str) -> str | None:
        """The field's text without surrounding blanks; None when empty or absent."""
        value = self.get(name).strip()
        return value or None

    def getlist(self, name: str) -> list[str]:
        return list(self.values.get(name, []))

    def checked(self, name: str) -> bool:
        return name in self.values

    def __contains__(self, name: str) -> bool:
        return name in self.values


async def read_form(request: Request) -> Form:
    """The posted form of a POST; an empty form for every other method."""
    if request.method != "POST":
        return Form()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise ValidationFailed("forms are posted as application/x-www-form-urlencoded", field="content-type")
    body = await request.body()
    try:
        values = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed("the form could not be read", field="body") from None
    return Form(values)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to; anything else (another site, a scheme) becomes `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
