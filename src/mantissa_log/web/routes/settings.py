"""`/settings`: the LLM settings (API key write-only) and the UI preferences every page applies."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from mantissa_log.domain.settings import UserSettingsPut
from mantissa_log.domain.validation import parse_model
from mantissa_log.errors import MantissaError, ValidationFailed
from mantissa_log.web.context import CurrentView
from mantissa_log.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PROVIDERS = {
    "": "Not set",
    "anthropic": "Anthropic",
    "openai": "OpenAI",
    "google": "Google",
    "bedrock": "Amazon Bedrock",
}
TIME_RANGES = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}


def _page(view: CurrentView, *, error: MantissaError | None = None, posted: dict[str, Any] | None = None) -> Response:
    current = view.services.settings.get(view.who)
    return view.render(
        "settings.html",
        status=422 if error else 200,
        s=current,
        posted=posted or {},
        providers=PROVIDERS,
        time_ranges=TIME_RANGES,
        error=None if error is None else view.failed(error),
        error_field=None if error is None else error.field,
    )


@router.get("/settings", name="web.settings.read")
def settings_page(view: CurrentView) -> Response:
    return _page(view)


def _number(view: CurrentView, name: str, kind: type[int] | type[float], field: str) -> int | float | None:
    text = view.form.text(name)
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise ValidationFailed("must be a number", field=field) from None


@router.post("/settings/llm", name="web.settings.llm")
def save_llm(view: CurrentView) -> Response:
    form = view.form
    try:
        current = view.services.settings.get(view.who)
        preferences: dict[str, Any] = {
            "query_model": form.text("query_model"),
            "detection_model": form.text("detection_model"),
            "max_tokens": _number(view, "max_tokens", int, "preferences.max_tokens"),
            "temperature": _number(view, "temperature", float, "preferences.temperature"),
        }
        body: dict[str, Any] = {
            "llm_provider": form.text("llm_provider"),
            "llm_model": form.text("llm_model"),
            "llm_base_url": form.text("llm_base_url"),
            "preferences": {k: v for k, v in preferences.items() if v is not None},
            "ui_preferences": current.ui_preferences.dump(),
        }
        key = form.get("api_key").strip()
        if form.checked("api_key_remove"):
            body["api_key"] = None
        elif key:
            body["api_key"] = key
        view.services.settings.put(
            view.who, parse_model(UserSettingsPut, {k: v for k, v in body.items() if v is not None or k == "api_key"})
        )
    except MantissaError as exc:
        posted = {
            name: form.get(name)
            for name in (
                "llm_provider",
                "llm_model",
                "llm_base_url",
                "query_model",
                "detection_model",
                "max_tokens",
                "temperature",
            )
        }
        return _page(view, error=exc, posted=posted)
    return view.redirect("/settings", "success", "LLM settings saved.")


@router.post("/settings/ui", name="web.settings.ui")
def save_ui(view: CurrentView) -> Response:
    form = view.form
    try:
        wanted: dict[str, Any] = {
            "theme": form.get("theme") or "light",
            "default_time_range": form.get("default_time_range") or "24h",
            "items_per_page": _number(view, "items_per_page", int, "ui_preferences.items_per_page") or 25,
        }
        view.services.settings.patch(view.who, {"ui_preferences": wanted})
    except MantissaError as exc:
        return _page(view, error=exc)
    return view.redirect("/settings", "success", "Preferences saved: every page now uses them.")
