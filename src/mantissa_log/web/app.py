"""Mount the web UI on the API's app: pages at `/`, static files at `/static` (nothing from elsewhere)."""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from mantissa_log.web.route import error_page
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
    """Pages, their static files, and an HTML 404 for browsers at an address that is no page."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR, follow_symlink=False), name="static")
    for router in ROUTERS:
        app.include_router(router)
    api_handler = app.exception_handlers[StarletteHTTPException]

    async def not_a_page(request: Request, exc: Exception) -> Response:
        wants_page = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api/")
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 404 and wants_page:
            return error_page(request, 404, "Not found", "There is no page at this address.")
        response = api_handler(request, exc)  # the API's JSON errors stay as they are
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(StarletteHTTPException, not_a_page)
