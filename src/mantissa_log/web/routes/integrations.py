"""`/integrations`: the user's destinations, a form per type, Test, redelivery of dead deliveries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from mantissa_log.domain.common import INTEGRATION_TYPES, NAME_RE, IntegrationType
from mantissa_log.domain.integrations import Integration
from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER
from mantissa_log.domain.validation import parse_with
from mantissa_log.errors import MantissaError, ValidationFailed
from mantissa_log.web.context import CurrentView
from mantissa_log.web.forms import safe_next
from mantissa_log.web.integration_forms import (
    DEFAULTS,
    FIELDS,
    SECRET_HELP,
    TYPE_HELP,
    TYPE_LABELS,
    config_from_form,
    display_values,
    posted_values,
)
from mantissa_log.web.route import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _all(view: CurrentView) -> list[Integration]:
    found: list[Integration] = []
    start = None
    while True:
        page = view.services.integrations.list(view.who, limit=200, start_key=start)
        found += page.items
        if page.next_key is None:
            return found
        start = page.next_key


def _form_page(
    view: CurrentView,
    integration_type: str,
    *,
    existing: Integration | None,
    values: dict[str, Any],
    integration_id: str = "",
    enabled: bool = True,
    error: MantissaError | None = None,
) -> Response:
    return view.render(
        "integration_edit.html",
        status=422 if error else 200,
        itype=integration_type,
        type_label=TYPE_LABELS[integration_type],
        type_help=TYPE_HELP[integration_type],
        fields=FIELDS[integration_type],
        secret=SECRET_HELP.get(integration_type),
        values=values,
        existing=existing,
        integration_id=integration_id,
        enabled=enabled,
        error=None if error is None else view.failed(error),
        error_field=None if error is None else (error.field or "").removeprefix("config."),
    )


@router.get("/integrations", name="web.integration.list")
def list_integrations(view: CurrentView) -> Response:
    return view.render("integrations.html", integrations=_all(view), types=TYPE_LABELS, type_help=TYPE_HELP)


def _kind(value: str | None) -> IntegrationType:
    if value not in INTEGRATION_TYPES:
        raise ValidationFailed(f"pick one of {', '.join(INTEGRATION_TYPES)}", field="type")
    return value


@router.get("/integrations/new", name="web.integration.new")
def new_integration(view: CurrentView, type: str | None = None) -> Response:
    kind = _kind(type)
    return _form_page(view, kind, existing=None, values=display_values(DEFAULTS[kind]), integration_id=f"{kind}-main")


def _write(view: CurrentView, kind: str, integration_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "integration_type": kind,
        "enabled": view.form.checked("enabled"),
        "config": config_from_form(kind, view.form),
    }
    if integration_id is not None:
        body["integration_id"] = integration_id
    secret = view.form.get("secret").strip()
    if secret:
        body["secret"] = secret
    return body


@router.post("/integrations/new", name="web.integration.create")
def create_integration(view: CurrentView) -> Response:
    kind = _kind(view.form.get("integration_type"))
    integration_id = view.form.get("integration_id").strip()
    try:
        if not NAME_RE.match(integration_id):
            raise ValidationFailed("a name of letters, digits, '.', '_' or '-'", field="integration_id")
        write = parse_with(INTEGRATION_WRITE_ADAPTER, _write(view, kind, integration_id))
        view.services.integrations.create(view.who, write)
    except MantissaError as exc:
        values = posted_values(kind, view.form)
        return _form_page(
            view,
            kind,
            existing=None,
            values=values,
            integration_id=integration_id,
            enabled=view.form.checked("enabled"),
            error=exc,
        )
    return view.redirect(
        f"/integrations/{integration_id}",
        "success",
        f"{TYPE_LABELS[kind]} integration {integration_id} saved. Press Test to try it.",
    )


@router.get("/integrations/{integration_id}", name="web.integration.read")
def edit_integration(view: CurrentView, integration_id: str) -> Response:
    found = view.services.integrations.get(view.who, integration_id)
    return _form_page(
        view,
        found.integration_type,
        existing=found,
        values=display_values(found.config.dump()),
        integration_id=integration_id,
        enabled=found.enabled,
    )


@router.post("/integrations/{integration_id}", name="web.integration.replace")
def replace_integration(view: CurrentView, integration_id: str) -> Response:
    found = view.services.integrations.get(view.who, integration_id)
    try:
        write = parse_with(INTEGRATION_WRITE_ADAPTER, _write(view, found.integration_type, None))
        view.services.integrations.replace(view.who, integration_id, write)
    except MantissaError as exc:
        values = posted_values(found.integration_type, view.form)
        return _form_page(
            view,
            found.integration_type,
            existing=found,
            values=values,
            integration_id=integration_id,
            enabled=view.form.checked("enabled"),
            error=exc,
        )
    return view.redirect(f"/integrations/{integration_id}", "success", "Saved.")


@router.post("/integrations/{integration_id}/test", name="web.integration.test")
def test_integration(view: CurrentView, integration_id: str) -> Response:
    back = safe_next(view.form.get("next"), f"/integrations/{integration_id}")
    result = view.services.delivery.test_integration(view.who, integration_id)
    http = f"HTTP {result.http_status}" if result.http_status is not None else "no HTTP status"
    text = f"Test of {integration_id}: {result.status} · {http} · {result.message}"
    return view.redirect(back, "success" if result.status == "success" else "error", text)


@router.post("/integrations/{integration_id}/redeliver", name="web.integration.redeliver")
def redeliver(view: CurrentView, integration_id: str) -> Response:
    view.services.integrations.get(view.who, integration_id)  # 404 for someone else's
    done = view.services.delivery.redeliver_integration(view.who, integration_id)
    back = safe_next(view.form.get("next"), f"/integrations/{integration_id}")
    if not done.count:
        return view.redirect(back, "info", f"No dead delivery to {integration_id}.")
    return view.redirect(
        back,
        "success",
        f"{done.count} dead deliver{'y' if done.count == 1 else 'ies'} to {integration_id} queued again.",
    )


@router.post("/integrations/{integration_id}/delete", name="web.integration.delete")
def delete_integration(view: CurrentView, integration_id: str) -> Response:
    view.services.integrations.delete(view.who, integration_id)
    return view.redirect("/integrations", "success", f"Integration {integration_id} deleted (and its secret).")
