"""Turning pydantic's errors into ours: one message, one dotted field, never the input value."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from mantissa_log.domain.common import INTEGRATION_TYPES, error_field
from mantissa_log.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# Location parts that are not field names: request parts, union tags, pydantic's wrappers.
NOISE = frozenset({"body", "query", "path", "function-after", "function-before", "[key]", *INTEGRATION_TYPES})


def first_error(exc: ValidationError, prefix: str = "") -> ValidationFailed:
    err = exc.errors(include_input=False, include_url=False)[0]
    field = error_field(tuple(err["loc"]), drop=NOISE)
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        # The discriminator itself is the bad field; pydantic reports it at the union's level.
        tag = str((err.get("ctx") or {}).get("discriminator", "")).strip("'")
        field = f"{field}.{tag}" if field else tag
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
    message = str(err["msg"])
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "missing":
        message = "field required"
    return ValidationFailed(message, field=field or None)


def parse_model(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc, prefix) from None


def parse_with(adapter: TypeAdapter[T], data: Any, prefix: str = "") -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise first_error(exc, prefix) from None


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON merge patch (RFC 7396): objects merge, null removes, anything else replaces."""
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
