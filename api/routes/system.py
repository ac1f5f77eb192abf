"""Health (unauthenticated), the Prometheus endpoint (token or allowed network), who am I."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.auth import engine_of, identify, require
from api.permissions import HOME, Permission, allowed
from cmdb.users import Principal

router = APIRouter()


def _db_ok(request: Request) -> bool:
    try:
        with engine_of(request).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


@router.get("/healthz", tags=["system"], summary="Проверка работоспособности (без аутентификации)")
def healthz(request: Request) -> JSONResponse:
    ok = _db_ok(request)
    body = {"status": "ok" if ok else "fail", "database": "ok" if ok else "unreachable"}
    return JSONResponse(body, status_code=200 if ok else 503)


def _address_allowed(request: Request) -> bool:
    host = request.client.host if request.client else None
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in request.app.state.api_settings.metrics_networks())


@router.get("/metrics", tags=["system"], summary="Метрики Prometheus (токен или доверенная сеть)")
async def metrics(request: Request) -> Response:
    if request.headers.get("authorization") is not None or not _address_allowed(request):
        caller = await run_in_threadpool(identify, request)
        if caller is None:
            raise HTTPException(401, "требуется аутентификация", {"WWW-Authenticate": "Bearer"})
        if not allowed(caller.principal.role, Permission.METRICS_READ):
            raise HTTPException(403, "недостаточно прав для этого действия")
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/me", tags=["system"], summary="Текущий пользователь и его роль")
def me(
    request: Request, principal: Annotated[Principal, Depends(require(Permission.STATUS_READ))]
) -> dict[str, Any]:
    """Who is signed in; a session caller also gets the CSRF token its writes must send."""
    return {
        "csrf_token": getattr(request.state, "csrf", None),
        "username": principal.username,
        "full_name": principal.full_name,
        "role": principal.role.value,
        "home": HOME[principal.role],
    }
