"""The audit journal page: filters (actor, entity, action, key, days), newest first, each
change's before and after, and the filtered journal as CSV or XLSX. Read only.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.auth import engine_of, require
from api.permissions import Permission
from api.routes.audit import export_response
from api.web.common import language, render
from cmdb.journal import (
    BadJournalQuery,
    JournalFilter,
    action_values,
    distinct_values,
    journal_page,
    parse_day,
)
from cmdb.kinds import KINDS
from cmdb.users import Principal

router = APIRouter(include_in_schema=False)

READ = require(Permission.AUDIT_READ, page=True)
PER_PAGE: Final = 50
FIELDS: Final = ("actor", "entity", "action", "key", "from", "to")
#: Entities that are not CMDB kinds, with their English names (translated in the catalogue).
OTHER_ENTITIES: Final = {
    "permission": "permission",
    "control_point_evidence": "control point evidence",
    "app_user": "user",
    "api_token": "API token",
    "web_session": "session",
    "agent_token": "agent token",
}


def _form(request: Request) -> dict[str, str]:
    params = request.query_params
    return {name: params.get(name, "").strip()[:255] for name in FIELDS}


def _filter(form: dict[str, str]) -> JournalFilter:
    return JournalFilter(
        actor=form["actor"] or None,
        entity=form["entity"] or None,
        action=form["action"] or None,
        key=form["key"] or None,
        since=parse_day(form["from"], "from"),
        until=parse_day(form["to"], "to"),
    ).validate()


def entity_labels(lang: str, seen: list[str]) -> list[tuple[str, str]]:
    """(entity, label) for the entity select: CMDB kinds by their title, others by name."""
    titles = {
        spec.entity: (spec.title_ru if lang == "ru" else spec.name) for spec in KINDS.values()
    }
    return [(entity, titles.get(entity, OTHER_ENTITIES.get(entity, entity))) for entity in seen]


@router.get("/audit")
def audit_journal(request: Request, principal: Annotated[Principal, Depends(READ)]) -> Response:
    engine = engine_of(request)
    zone = request.app.state.settings.zone
    lang = language(request, principal)
    form = _form(request)
    try:
        page_no = max(1, min(int(request.query_params.get("page", "1")), 1_000_000))
    except ValueError:
        page_no = 1
    error = None
    page = None
    try:
        page = journal_page(engine, _filter(form), zone, page=page_no, per_page=PER_PAGE)
    except BadJournalQuery as exc:
        error = exc.reason
    kept = {k: v for k, v in form.items() if v}

    def link(**changes: Any) -> str:
        return "/audit?" + urlencode({**kept, **changes})

    def export_link(fmt: str) -> str:
        return "/audit/export?" + urlencode({**kept, "format": fmt})

    entities = entity_labels(lang, distinct_values(engine, "entity"))
    return render(
        request,
        "audit/journal.html",
        status_code=422 if error else 200,
        form=form,
        error=error,
        page=page,
        actors=distinct_values(engine, "actor"),
        entities=entities,
        entity_label=dict(entities),
        actions=action_values(),
        link=link,
        export_link=export_link,
    )


@router.get("/audit/export")
def audit_export(request: Request, principal: Annotated[Principal, Depends(READ)]) -> Response:
    form = _form(request)
    fmt = request.query_params.get("format", "csv")
    lang = language(request, principal)
    try:
        flt = _filter(form)
    except BadJournalQuery as exc:
        return render(
            request,
            "audit/journal.html",
            status_code=422,
            form=form,
            error=exc.reason,
            page=None,
            actors=[],
            entities=[],
            entity_label={},
            actions=action_values(),
            link=lambda **_: "/audit",
            export_link=lambda fmt: "/audit",
        )
    return export_response(request, flt, "xlsx" if fmt == "xlsx" else "csv", lang)
