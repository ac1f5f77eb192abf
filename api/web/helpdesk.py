"""Helpdesk pages: ``/helpdesk`` (search box and results), ``/helpdesk/sites/{code}`` (the card).

The card's "check now" button calls ``POST /api/v1/helpdesk/sites/{code}/check`` from
``/static/helpdesk.js`` with the session's CSRF token and shows the answer without a reload.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.auth import engine_of, require
from api.permissions import Permission, allowed
from api.routes.helpdesk import link_text, reachable_text, state_text
from api.web.common import language, render
from cmdb.errors import NotFound
from cmdb.helpdesk import card, search
from cmdb.types import utcnow
from cmdb.users import Principal

router = APIRouter(include_in_schema=False)

#: Results shown on the search page.
PAGE_LIMIT: Final = 50


@router.get("/helpdesk", response_class=HTMLResponse)
async def helpdesk_search(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.STATUS_READ, page=True))],
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    lang = language(request, principal)
    hits = await run_in_threadpool(search, engine_of(request), q, PAGE_LIMIT) if q.strip() else []
    return render(
        request,
        "helpdesk/search.html",
        q=q,
        hits=hits,
        limit=PAGE_LIMIT,
        state_text=lambda state: state_text(state, lang),
    )


@router.get("/helpdesk/sites/{code}", response_class=HTMLResponse)
async def helpdesk_card(
    request: Request,
    code: Annotated[str, Path(min_length=1, max_length=64)],
    principal: Annotated[Principal, Depends(require(Permission.STATUS_READ, page=True))],
) -> HTMLResponse:
    lang = language(request, principal)
    zone = request.app.state.settings.zone
    try:
        site = await run_in_threadpool(card, engine_of(request), code, utcnow(), zone)
    except NotFound:
        return render(request, "helpdesk/not_found.html", status_code=404, code=code)
    return render(
        request,
        "helpdesk/card.html",
        site=site,
        can_check=allowed(principal.role, Permission.STATUS_CHECK),
        link_label=link_text(site.link, lang),
        reachable_label=reachable_text(site.reachable, lang),
        state_text=lambda state: state_text(state, lang),
        duration=lambda seconds: _duration(seconds, lang),
    )


def _duration(seconds: float, lang: str) -> str:
    """1 д 2 ч 5 мин / 1 d 2 h 5 min; under a minute: «< 1 мин»."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "< 1 мин" if lang == "ru" else "< 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = ("д", "ч", "мин") if lang == "ru" else ("d", "h", "min")
    parts = [f"{n} {u}" for n, u in zip((days, hours, mins), units, strict=True) if n]
    return " ".join(parts)
