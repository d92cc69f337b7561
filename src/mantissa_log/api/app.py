"""`create_app(settings)`: the whole HTTP service, built on demand (nothing runs at import).

From the outside in: forwarding headers (only from `MANTISSA_TRUSTED_PROXIES`), security headers,
Starlette's error middleware, the audit (one record per request), the edge (authentication
before any body byte, body size and pace: `api/edge.py`), then the routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from mantissa_log import __version__
from mantissa_log.api.audit import install_audit
from mantissa_log.api.direct import DirectReads
from mantissa_log.api.edge import Authenticate, EdgeGuard, EdgePolicy, Remembered
from mantissa_log.api.errors import install_error_handlers
from mantissa_log.api.routes import (
    admin,
    alerts,
    collectors,
    health,
    hec,
    integrations,
    lake,
    query,
    rules,
    settings,
)
from mantissa_log.api.security_headers import SecurityHeaders
from mantissa_log.config import Settings, load_settings
from mantissa_log.services.container import Services, build_services
from mantissa_log.web import install_web

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    settings.router,
    integrations.router,
    rules.router,
    alerts.router,
    lake.router,
    query.router,
    admin.router,
    collectors.router,
    hec.router,
)


def api_routes() -> list[APIRoute]:
    """Every route of the API, as declared (full paths, names, methods)."""
    return [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


class MantissaAPI(FastAPI):
    """FastAPI whose outermost layers see every response, the error middleware's 500s included."""

    trusted_proxies: list[str] = []

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = SecurityHeaders(super().build_middleware_stack())
        if self.trusted_proxies:
            # Rewrites the client address and scheme from X-Forwarded-For/-Proto, and only for
            # requests from these addresses; the audit, token checks and HSTS all read the result.
            # (uvicorn types ASGI apps more narrowly than Starlette: the same protocol.)
            app = cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=self.trusted_proxies))
        return app


def create_app(config: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the app; `services` may be injected (tests), otherwise built from `config`."""
    owned = services is None
    config = config or (services.config if services is not None else load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.services is None:
            app.state.services = build_services(config)
        yield
        # Every request's audit record is written before the server stops (services/audit_writer.py).
        app.state.services.audit.flush()
        if owned:
            app.state.services.close()

    # No /docs or /redoc: they load scripts from a CDN. The OpenAPI document is a route that
    # needs a token (routes/health.py).
    app = MantissaAPI(
        title="Mantissa Log", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.trusted_proxies = config.trusted_proxy_list
    app.state.services = services
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_web(app)

    def authenticate() -> Authenticate:
        found: Services = app.state.services
        return found.users.authenticate

    def remembered() -> Remembered:
        found: Services = app.state.services
        return found.users.remembered

    def services_now() -> Services:
        found: Services = app.state.services
        return found

    # Inside the edge: the alert list answered without FastAPI's per-request work when it can be (api/direct.py).
    app.add_middleware(DirectReads, services=services_now, routes=api_routes)
    policy = EdgePolicy(
        body_grace_seconds=config.body_grace_seconds, body_min_bytes_per_second=config.body_min_bytes_per_second
    )
    app.add_middleware(EdgeGuard, authenticate=authenticate, remembered=remembered, policy=policy, routes=api_routes)
    # Added last, so it runs first (outside the edge): refused requests (413, 401, ...) are audited too.
    install_audit(app)
    return app
