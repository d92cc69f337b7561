"""Mount the web UI on the API's app: pages at `/`, static files at `/static` (nothing from elsewhere)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mantissa_log.web.routes import admin, alerts, auth, integrations, overview, query, rules, settings

STATIC_DIR = Path(__file__).parent / "static"
ROUTERS = (
    auth.router,
    overview.router,
    alerts.router,
    rules.router,
    integrations.router,
    settings.router,
    admin.router,
    query.router,
)


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static")
    for router in ROUTERS:
        app.include_router(router)
