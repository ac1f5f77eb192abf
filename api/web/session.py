"""Sign-in, sign-out, the language switch and the landing redirect."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import (
    LANG_COOKIE,
    SESSION_COOKIE,
    Caller,
    engine_of,
    optional_caller,
    require,
)
from api.i18n import LANGUAGES
from api.permissions import HOME, Permission
from api.web.common import render
from cmdb.choices import Role
from cmdb.users import Principal, Throttled, authenticate, create_session, end_session

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "kontur_login_csrf"


def _safe_next(target: str | None) -> str | None:
    """Only a local path may be the target of the redirect after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _login_page(request: Request, *, error: str | None, status_code: int, next_: str) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        error=error,
        next_path=next_,
    )
    secure = request.app.state.api_settings.cookie_secure
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/login"
    )
    return response


@router.get("/")
def landing(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Response:
    if caller is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(HOME[caller.principal.role], status_code=303)


@router.get("/login")
def login_form(
    request: Request,
    caller: Annotated[Caller | None, Depends(optional_caller)],
    next: str | None = None,
) -> Response:
    if caller is not None and caller.principal.role is not Role.AGENT:
        return RedirectResponse(_safe_next(next) or HOME[caller.principal.role], status_code=303)
    return _login_page(request, error=None, status_code=200, next_=_safe_next(next) or "")


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    def _(message: str) -> str:
        from api.i18n import gettext
        from api.web.common import language

        return gettext(language(request), message)

    target = _safe_next(next) or ""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        error = _("The form has expired; please sign in again.")
        return _login_page(request, error=error, status_code=403, next_=target)
    remote = request.client.host if request.client else None
    engine = engine_of(request)
    try:
        principal = await run_in_threadpool(
            authenticate, engine, username, password, remote_addr=remote
        )
    except Throttled as exc:
        error = _("Too many failed attempts; try again in {seconds} s.").format(
            seconds=exc.retry_after
        )
        response = _login_page(request, error=error, status_code=429, next_=target)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if principal is None or principal.role is Role.AGENT:
        error = _("Wrong username or password.")
        return _login_page(request, error=error, status_code=401, next_=target)
    raw, _csrf = await run_in_threadpool(create_session, engine, principal, remote_addr=remote)
    response = RedirectResponse(target or HOME[principal.role], status_code=303)
    secure = request.app.state.api_settings.cookie_secure
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=secure, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.STATUS_READ, page=True))],
) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await run_in_threadpool(end_session, engine_of(request), raw)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next) or "/", status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400, path="/")
    return response
