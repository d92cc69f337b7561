"""`create_app(settings)`: the whole HTTP service, built on demand (nothing runs at import)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from mantissa_log import __version__
from mantissa_log.api.audit import install_audit
from mantissa_log.api.errors import error_response, install_error_handlers
from mantissa_log.api.routes import admin, alerts, health, integrations, lake, query, rules, settings
from mantissa_log.config import Settings, load_settings
from mantissa_log.services.container import Services, build_services

MAX_BODY_BYTES = 1_048_576
# Log ingestion takes bigger bodies (a CloudTrail delivery file, a batch of JSON lines).
MAX_INGEST_BYTES = 256 * 1_048_576


def create_app(config: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; `services` may be injected (tests), otherwise built from `config`."""
    owned = services is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.services is None:
            app.state.services = build_services(config or load_settings())
        yield
        if owned:
            app.state.services.close()

    app = FastAPI(title="Mantissa Log", version=__version__, lifespan=lifespan)
    app.state.services = services
    install_error_handlers(app)
    for router in (
        health.router,
        settings.router,
        integrations.router,
        rules.router,
        alerts.router,
        lake.router,
        query.router,
        admin.router,
    ):
        app.include_router(router)

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        limit = MAX_INGEST_BYTES if request.url.path.startswith("/api/v1/ingest/") else MAX_BODY_BYTES
        if length and length.isdigit() and int(length) > limit:
            return error_response(413, "too_large", f"body over {limit} bytes")
        return await call_next(request)

    # Added last, so it runs first: refused requests (413, 401, ...) are audited too.
    install_audit(app)
    return app
