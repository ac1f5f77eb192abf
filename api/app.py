"""The FastAPI application: the REST API under ``/api/v1`` and the server-rendered web UI.

Routers are discovered: every module of :mod:`api.routes` (JSON) and :mod:`api.web` (pages)
that defines ``router`` is included, so areas of the UI live in their own modules.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import Engine

import api.routes
import api.web
from api.auth import LoginRequired, PageForbidden
from api.settings import ApiSettings
from cmdb.errors import Conflict, ImportFailed, KonturError, NotFound
from cmdb.settings import CmdbSettings
from cmdb.users import Throttled

STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/v1"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class ApiMetrics:
    """The server's own request metrics, in a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kontur_api_requests",
            "HTTP requests served, by route template and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kontur_api_request_duration_seconds",
            "Time to serve a request, by route template",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


def _routers() -> list[Any]:
    """Every ``router`` of api.routes and api.web; the generic CMDB routes last.

    ``/api/v1/<kind>/{key}`` would otherwise catch more specific paths of other modules
    (e.g. ``/api/v1/indicators/progress``): Starlette matches routes in the order they were added.
    """
    found = []
    for package in (api.routes, api.web):
        modules = sorted(
            pkgutil.iter_modules(package.__path__), key=lambda i: (i.name == "cmdb", i.name)
        )
        for info in modules:
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            router = getattr(module, "router", None)
            if router is not None:
                found.append(router)
    return found


def _error(status: int, detail: Any) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def create_app(
    engine: Engine, settings: CmdbSettings, api_settings: ApiSettings | None = None
) -> FastAPI:
    """The application bound to ``engine`` (a migrated CMDB)."""
    app = FastAPI(
        title="Kontur API",
        version="1",
        description="CMDB, статус и отчёты единого цифрового контура здравоохранения региона.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.settings = settings
    app.state.api_settings = api_settings or ApiSettings()
    app.state.metrics = ApiMetrics()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in _routers():
        app.include_router(router)

    @app.middleware("http")
    async def headers_and_metrics(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics: ApiMetrics = request.app.state.metrics
        metrics.requests.labels(template, request.method, str(response.status_code)).inc()
        metrics.latency.labels(template).observe(time.perf_counter() - started)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith(f"{API_PREFIX}/docs"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        # The query is already percent-encoded: keep its escapes, encode the rest once.
        return RedirectResponse(f"/login?next={quote(target, safe='%')}", status_code=303)

    @app.exception_handler(PageForbidden)
    async def _forbidden(request: Request, exc: PageForbidden) -> Response:
        from api.web.common import render

        return render(request, "forbidden.html", status_code=403)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return _error(404, f"{exc.kind} {exc.key!r} не найден(а)")

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> Response:
        return _error(409, str(exc))

    @app.exception_handler(ImportFailed)
    async def _invalid(request: Request, exc: ImportFailed) -> Response:
        detail = [{"loc": ["body", e.column], "msg": e.reason, "row": e.row} for e in exc.errors]
        return _error(422, detail)

    @app.exception_handler(Throttled)
    async def _throttled(request: Request, exc: Throttled) -> Response:
        response = _error(429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(KonturError)
    async def _domain(request: Request, exc: KonturError) -> Response:
        return _error(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        detail = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        return _error(422, detail)

    return app
