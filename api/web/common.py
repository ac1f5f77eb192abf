"""What every page shares: the Jinja2 environment, the language, the navigation, ``render``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.auth import LANG_COOKIE
from api.i18n import DEFAULT_LANGUAGE, LANGUAGES, format_date, format_datetime, gettext
from api.permissions import Permission, allowed
from cmdb.choices import Role, label
from cmdb.users import Principal

TEMPLATES: Final = Path(__file__).resolve().parent.parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "xml", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The navigation: (path, English label, the permission that shows it).
NAV: Final[tuple[tuple[str, str, Permission], ...]] = (
    ("/helpdesk", "FAP search", Permission.STATUS_READ),
    ("/engineer", "Network", Permission.CMDB_WRITE),
    ("/cmdb", "CMDB", Permission.CMDB_READ),
    ("/map", "Map", Permission.STATUS_READ),
    ("/security", "Security", Permission.AUDIT_READ),
    ("/audit", "Audit journal", Permission.AUDIT_READ),
    ("/project", "Project office", Permission.REPORTS_READ),
    ("/provisioning", "Provisioning", Permission.PROVISION_READ),
)


def language(request: Request, principal: Principal | None = None) -> str:
    """The page language: the switch's cookie, else the user's setting, else Russian."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    if principal is not None and principal.locale in LANGUAGES:
        return principal.locale
    return DEFAULT_LANGUAGE


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the shared context (language, user, CSRF token, navigation)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    lang = language(request, principal)
    zone: dt.tzinfo = request.app.state.settings.zone

    def _(message: str, **params: Any) -> str:
        text = gettext(lang, message)
        return text.format(**params) if params else text

    nav = []
    if principal is not None:
        nav = [
            (path, _(title), request.url.path.startswith(path))
            for path, title, perm in NAV
            if allowed(principal.role, perm)
        ]
    shared = {
        "request": request,
        "_": _,
        "lang": lang,
        "principal": principal,
        "role_label": label(principal.role.value, lang) if principal else "",
        "csrf_token": getattr(request.state, "csrf", None) or "",
        "nav": nav,
        "fmt_date": lambda value: format_date(value, lang),
        "fmt_dt": lambda value: format_datetime(value, lang, zone),
        "label": lambda value: label(str(value), lang),
        "Role": Role,
    }
    shared.update(context)
    html = env.get_template(template).render(**shared)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
