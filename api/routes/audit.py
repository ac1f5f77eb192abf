"""The audit journal over JSON: ``GET /api/v1/audit`` (filtered, paged, newest first) and
``GET /api/v1/audit/export`` (CSV or XLSX of the filtered journal).

Read only: no route changes or deletes journal entries.
"""

# No `from __future__ import annotations`: FastAPI reads the parameter types at runtime.

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from api.auth import engine_of, require
from api.permissions import Permission
from cmdb.journal import (
    JournalEntry,
    JournalFilter,
    export_csv,
    export_filename,
    export_xlsx,
    iter_journal,
    journal_page,
    parse_day,
)
from cmdb.users import Principal

router = APIRouter(prefix="/api/v1", tags=["audit"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Нет аутентификации"},
    403: {"description": "Недостаточно прав"},
    422: {"description": "Недопустимый фильтр: параметр и причина"},
}

AUDIT_READ = require(Permission.AUDIT_READ)


class AuditEntryOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    key: str
    source: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPageOut(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[AuditEntryOut]


def _out(entry: JournalEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        entity=entry.entity,
        key=entry.key,
        source=entry.source,
        before=entry.before,
        after=entry.after,
    )


Text = Annotated[str | None, Query(max_length=255)]
Day = Annotated[str | None, Query(max_length=32, description="ДД.ММ.ГГГГ или ГГГГ-ММ-ДД")]


def journal_filter(  # noqa: PLR0917 - the query parameters of the journal
    actor: Annotated[str | None, Query(max_length=255, description="часть имени")] = None,
    entity: Text = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    key: Text = None,
    date_from: Annotated[
        str | None, Query(alias="from", max_length=32, description="с даты (включительно)")
    ] = None,
    date_to: Annotated[
        str | None, Query(alias="to", max_length=32, description="по дату (включительно)")
    ] = None,
) -> JournalFilter:
    """The journal filter from query parameters (dates in the region's time zone)."""
    return JournalFilter(
        actor=actor or None,
        entity=entity or None,
        action=action or None,
        key=key or None,
        since=parse_day(date_from, "from"),
        until=parse_day(date_to, "to"),
    ).validate()


@router.get("/audit", response_model=AuditPageOut, responses=ERRORS, summary="Журнал аудита")
def list_audit(
    request: Request,
    principal: Annotated[Principal, Depends(AUDIT_READ)],
    flt: Annotated[JournalFilter, Depends(journal_filter)],
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> AuditPageOut:
    limits = request.app.state.api_settings
    size = min(per_page or limits.default_page_size, limits.max_page_size)
    result = journal_page(
        engine_of(request), flt, request.app.state.settings.zone, page=page, per_page=size
    )
    return AuditPageOut(
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        items=[_out(e) for e in result.items],
    )


EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {
        "description": "Журнал в CSV (UTF-8 с BOM) или XLSX",
        "content": {
            "text/csv": {},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
        },
    },
}


@router.get("/audit/export", responses=EXPORT_RESPONSES, summary="Журнал аудита: выгрузка")
def export_audit(
    request: Request,
    principal: Annotated[Principal, Depends(AUDIT_READ)],
    flt: Annotated[JournalFilter, Depends(journal_filter)],
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    headers: Annotated[Literal["ru", "en"], Query(description="язык заголовков")] = "ru",
) -> Response:
    return export_response(request, flt, format, headers)


def export_response(request: Request, flt: JournalFilter, fmt: str, locale: str) -> Response:
    """The filtered journal as a download (shared with the journal page)."""
    engine = engine_of(request)
    zone: dt.tzinfo = request.app.state.settings.zone
    name = export_filename(fmt, dt.datetime.now(zone).date())
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "xlsx":
        data = export_xlsx(iter_journal(engine, flt, zone), zone, locale)
        return Response(
            data,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=disposition,
        )
    return StreamingResponse(
        export_csv(iter_journal(engine, flt, zone), zone, locale),
        media_type="text/csv; charset=utf-8",
        headers=disposition,
    )
