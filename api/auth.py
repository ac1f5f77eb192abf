"""Who is calling and whether they may: API tokens, UI sessions, CSRF, the permission check.

An ``Authorization: Bearer`` header wins: a bad token is refused even if a session cookie is
present. A session (cookie) caller must prove intent on every unsafe method with the session's
CSRF token (the ``X-CSRF-Token`` header, or the ``csrf_token`` field of a posted form).
JSON callers get 401/403; page callers are sent to ``/login`` (401) or shown a 403 page.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from fastapi import HTTPException, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.permissions import Permission, allowed
from cmdb.audit import AuditBatch
from cmdb.choices import AuditAction
from cmdb.users import Principal, principal_for_token, session_principal

SESSION_COOKIE: Final = "kontur_session"
LANG_COOKIE: Final = "kontur_lang"
CSRF_HEADER: Final = "x-csrf-token"
CSRF_FIELD: Final = "csrf_token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """A page was asked for without a session: the handler redirects to ``/login``."""


class PageForbidden(Exception):
    """A page the signed-in user's role may not see: the handler renders a 403 page."""


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    csrf: str | None  # the session's CSRF token; None for bearer tokens


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def identify(request: Request) -> Caller | None:
    """The caller behind a request (bearer token first, then the session cookie), or None."""
    engine = engine_of(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        principal = principal_for_token(engine, token.strip())
        return Caller(principal, None) if principal else None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        found = session_principal(engine, raw)
        if found is not None:
            return Caller(found[0], found[1])
    return None


def _deny(request: Request, principal: Principal, permission: Permission) -> None:
    """Journal a refused attempt by a signed-in caller (who, what, where)."""
    batch = AuditBatch(actor=principal.username, source=f"{request.method} {request.url.path}")
    batch.add(
        AuditAction.DENY,
        "permission",
        permission.value,
        None,
        {"role": principal.role.value, "path": request.url.path, "method": request.method},
    )
    with engine_of(request).begin() as conn:
        batch.write(conn)


async def _csrf_ok(request: Request, expected: str) -> bool:
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else None
    return presented is not None and hmac.compare_digest(presented, expected)


def require(
    permission: Permission, *, page: bool = False
) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller, if signed in, allowed ``permission`` and (sessions) CSRF-valid."""

    async def dependency(request: Request) -> Principal:
        caller = await run_in_threadpool(identify, request)
        if caller is None:
            if page:
                raise LoginRequired
            raise HTTPException(
                status_code=401,
                detail="требуется аутентификация",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = caller.principal
        if not allowed(principal.role, permission):
            await run_in_threadpool(_deny, request, principal, permission)
            if page:
                raise PageForbidden
            raise HTTPException(status_code=403, detail="недостаточно прав для этого действия")
        unsafe = request.method not in SAFE_METHODS
        if unsafe and caller.csrf is not None and not await _csrf_ok(request, caller.csrf):
            raise HTTPException(status_code=403, detail="неверный или отсутствующий CSRF-токен")
        request.state.principal = principal
        request.state.csrf = caller.csrf
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


async def optional_caller(request: Request) -> Caller | None:
    """The caller if any (for pages that anyone may see, like ``/login``)."""
    return await run_in_threadpool(identify, request)
