"""Reports and planning over the API: uptime report, control-point schedule, evidence, indicators.

* ``GET /api/v1/reports/uptime`` — the uptime (SLA) report of a month (``month=YYYY-MM``, default
  the previous calendar month in the region's zone) or an interval ``[from, to)``, as JSON (the
  same document as ``kontur report uptime --format json``) or as an XLSX/PDF/HTML file.
* ``GET /api/v1/schedule`` — control-point occurrences with their status on a day.
* ``POST /api/v1/control-points/{code}/evidence`` — attach evidence to an occurrence (audited).
* ``DELETE /api/v1/control-points/{code}/evidence/{due}`` — remove evidence attached by mistake
  (audited, with an optional ``reason``); the occurrence is due or overdue again.
* ``GET /api/v1/reports/indicators`` — indicators: plan for a year versus the CMDB's fact.

The period and rendering helpers here are shared with the project office pages
(:mod:`api.web.project`). Messages are English msgids translated by ``project.po``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.auth import engine_of, require
from api.i18n import LANGUAGES, gettext
from api.permissions import Permission
from cmdb.calendars import (
    CpOccurrence,
    CpStatus,
    DuplicateEvidence,
    EvidenceInfo,
    InvalidEvidence,
    NoEvidence,
    NotAnOccurrence,
    add_evidence,
    control_point_statuses,
    remove_evidence,
)
from cmdb.cli.report_cmd import report_json
from cmdb.errors import NotFound
from cmdb.planning import IndicatorStatus, indicators
from cmdb.sla import build_uptime_report, local_midnight, month_bounds, parse_month
from cmdb.uptime_types import UptimeReport
from cmdb.users import Principal

router = APIRouter(prefix="/api/v1", tags=["reports"])

#: Years a period may fall in (guards the date arithmetic against absurd input).
FIRST_YEAR: Final = 1970
LAST_YEAR: Final = 2999
#: The longest interval one report may cover.
MAX_DAYS: Final = 400
REPORT_KINDS: Final = ("channel", "site", "device", "vipnet_node", "workstation")
FORMATS: Final = ("json", "xlsx", "pdf", "html")
MEDIA: Final = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
}
#: The standalone HTML report carries inline CSS and SVG: it may use those and nothing else.
HTML_REPORT_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
_DATE_ONLY = re.compile(r"^\s*(\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2})\s*$")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Нет аутентификации"},
    403: {"description": "Недостаточно прав"},
    422: {"description": "Ошибка в параметрах: поле и причина"},
}


def _problem(loc: list[str], message: str) -> HTTPException:
    return HTTPException(422, [{"loc": loc, "msg": message, "type": "value_error"}])


# --- the period ------------------------------------------------------------------------------


class PeriodError(ValueError):
    """A month or interval that cannot be reported: the parameter, an English msgid, params."""

    def __init__(self, field: str, message: str, **params: Any) -> None:
        self.field = field
        self.message = message
        self.params = params
        super().__init__(message.format(**params))

    def describe(self, lang: str) -> str:
        return gettext(lang, self.message).format(**self.params)


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime
    label: str | None  # "2026-10" for a calendar month


def previous_month(zone: dt.tzinfo, now: dt.datetime | None = None) -> str:
    """The calendar month before the current one in ``zone``, as ``YYYY-MM``."""
    today = (now or dt.datetime.now(dt.UTC)).astimezone(zone).date()
    last = today.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def _check_year(field: str, year: int, raw: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(
            field,
            "{value!r}: the year must be between {first} and {last}",
            value=raw,
            first=FIRST_YEAR,
            last=LAST_YEAR,
        )


def month_period(month: str, zone: dt.tzinfo) -> Period:
    try:
        year, number = parse_month(month)
    except ValueError:
        raise PeriodError("month", "bad month {value!r}: expected YYYY-MM, e.g. 2026-10",
                          value=month) from None  # fmt: skip
    _check_year("month", year, month)
    start, end = month_bounds(f"{year:04d}-{number:02d}", zone)
    return Period(start, end, f"{year:04d}-{number:02d}")


def _moment(field: str, raw: str, zone: dt.tzinfo) -> dt.datetime:
    from cmdb.fields import FieldError, parse_date, parse_datetime

    bad = PeriodError(
        field,
        "bad date {value!r}: expected DD.MM.YYYY, YYYY-MM-DD or an ISO 8601 date and time",
        value=raw,
    )
    try:
        if _DATE_ONLY.match(raw):
            day = parse_date(raw)
            _check_year(field, day.year, raw)
            return local_midnight(day, zone)
        naive = parse_datetime(raw, dt.UTC)  # only to check the year before converting
        _check_year(field, naive.year, raw)
        return parse_datetime(raw, zone)
    except (FieldError, OverflowError) as exc:
        raise bad from exc


def resolve_period(
    month: str | None, first: str | None, last: str | None, zone: dt.tzinfo
) -> Period:
    """``month`` or ``[first, last)``; neither given: the previous calendar month."""
    if month is not None:
        if first is not None or last is not None:
            raise PeriodError("month", "give either month or from/to, not both")
        return month_period(month, zone)
    if first is None and last is None:
        return month_period(previous_month(zone), zone)
    if first is None or last is None:
        raise PeriodError("from" if first is None else "to", "from and to go together")
    start, end = _moment("from", first, zone), _moment("to", last, zone)
    if end <= start:
        raise PeriodError("to", "empty period: to ({last}) must be later than from ({first})",
                          first=first, last=last)  # fmt: skip
    if end - start > dt.timedelta(days=MAX_DAYS):
        raise PeriodError("to", "the period is longer than {days} days", days=MAX_DAYS)
    return Period(start, end, None)


def uptime_report(
    request: Request, period: Period, kinds: tuple[str, ...] = ("channel",)
) -> UptimeReport:
    zone = request.app.state.settings.zone
    return build_uptime_report(
        engine_of(request), period.start, period.end, zone=zone, kinds=kinds, label=period.label
    )


def _lang(request: Request, principal: Principal, lang: str | None) -> str:
    if lang in LANGUAGES:
        return lang
    from api.web.common import language

    return language(request, principal)


# --- the uptime report -------------------------------------------------------------------------


@router.get(
    "/reports/uptime",
    summary="Отчёт о доступности за месяц или период (JSON, XLSX, PDF, HTML)",
    responses={
        **ERRORS,
        200: {
            "description": "Отчёт: JSON или файл выбранного формата",
            "content": {"application/json": {}, **{m: {} for m in MEDIA.values()}},
        },
        503: {"description": "Формат PDF недоступен на сервере (нет WeasyPrint/Pango)"},
    },
)
async def uptime(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.REPORTS_READ))],
    month: Annotated[
        str | None,
        Query(max_length=20, description="месяц ГГГГ-ММ; по умолчанию предыдущий месяц"),
    ] = None,
    first: Annotated[
        str | None,
        Query(alias="from", max_length=40, description="начало периода: дата или ISO 8601"),
    ] = None,
    last: Annotated[
        str | None,
        Query(alias="to", max_length=40, description="конец периода (не включая)"),
    ] = None,
    format: Annotated[Literal["json", "xlsx", "pdf", "html"], Query()] = "json",
    kind: Annotated[
        list[Literal["channel", "site", "device", "vipnet_node", "workstation"]] | None,
        Query(max_length=5, description="вид объектов (можно несколько); по умолчанию channel"),
    ] = None,
    lang: Annotated[Literal["ru", "en"] | None, Query()] = None,
) -> Response:
    locale = _lang(request, principal, lang)
    zone = request.app.state.settings.zone
    try:
        period = resolve_period(month, first, last, zone)
    except PeriodError as exc:
        raise _problem(["query", exc.field], exc.describe(locale)) from None
    kinds = tuple(dict.fromkeys(kind or ("channel",)))
    report = await run_in_threadpool(uptime_report, request, period, kinds)
    if format == "json":
        return JSONResponse(report_json(report))
    from cmdb.reports import PdfUnavailable, render

    renderer = getattr(render, f"render_{format}")
    try:
        data: bytes = await run_in_threadpool(renderer, report, locale)
    except PdfUnavailable as exc:
        raise HTTPException(503, f"формат {format} недоступен: {exc}") from exc
    response = Response(data, media_type=MEDIA[format])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(report, format)}"'
    if format == "html":
        response.headers["Content-Security-Policy"] = HTML_REPORT_CSP
    return response


def filename(report: UptimeReport, fmt: str) -> str:
    """``uptime-2026-10.xlsx`` (a month) or ``uptime-2026-10-01-2026-10-15.xlsx``."""
    safe = re.sub(r"[^0-9A-Za-z-]+", "-", report.label).strip("-")
    return f"uptime-{safe}.{fmt}"


# --- the control-point schedule ----------------------------------------------------------------


class EvidenceOut(BaseModel):
    document: str
    note: str | None
    attached_at: dt.datetime
    attached_by: str
    source: Literal["user", "generated"]


class OccurrenceOut(BaseModel):
    code: str
    title: str
    evidence_kind: str | None
    responsible: str | None
    due: dt.date
    period_start: dt.date | None
    period_end: dt.date | None
    status: Literal["upcoming", "due", "overdue", "done"]
    status_label: str
    evidence: EvidenceOut | None


class ScheduleOut(BaseModel):
    today: dt.date
    first: dt.date | None = Field(serialization_alias="from")
    last: dt.date = Field(serialization_alias="to")
    total: int
    items: list[OccurrenceOut]


def evidence_out(info: EvidenceInfo) -> EvidenceOut:
    source: Literal["user", "generated"] = "generated" if info.source == "generated" else "user"
    return EvidenceOut(
        document=info.document,
        note=info.note,
        attached_at=info.attached_at,
        attached_by=info.attached_by,
        source=source,
    )


def occurrence_out(item: CpOccurrence, lang: str) -> OccurrenceOut:
    occ = item.occurrence
    return OccurrenceOut(
        code=item.code,
        title=item.title,
        evidence_kind=item.evidence_kind,
        responsible=item.responsible,
        due=occ.due,
        period_start=occ.period_start,
        period_end=occ.period_end,
        status=item.status.value,
        status_label=item.status.label(lang),
        evidence=evidence_out(item.evidence) if item.evidence else None,
    )


def local_today(request: Request) -> dt.date:
    zone: dt.tzinfo = request.app.state.settings.zone
    return dt.datetime.now(zone).date()


@router.get(
    "/schedule",
    response_model=ScheduleOut,
    response_model_by_alias=True,
    responses=ERRORS,
    summary="Сроки контрольных точек со статусом (предстоит, срок наступает, просрочена, "
    "выполнена)",
)
def schedule(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.CALENDAR_READ))],
    first: Annotated[
        dt.date | None,
        Query(
            alias="from",
            description="сроки с даты (по умолчанию сегодня; со status — без ограничения)",
        ),
    ] = None,
    last: Annotated[
        dt.date | None, Query(alias="to", description="по дату (по умолчанию +90 дней)")
    ] = None,
    today: Annotated[
        dt.date | None, Query(description="статусы на дату (по умолчанию сегодня)")
    ] = None,
    code: Annotated[str | None, Query(max_length=64, description="одна контрольная точка")] = None,
    status: Annotated[
        list[Literal["upcoming", "due", "overdue", "done"]] | None,
        Query(max_length=4, description="только в этих статусах (можно несколько)"),
    ] = None,
    lang: Annotated[Literal["ru", "en"] | None, Query()] = None,
) -> ScheduleOut:
    locale = _lang(request, principal, lang)
    for name, value in (("from", first), ("to", last), ("today", today)):
        if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise _problem(
                ["query", name],
                gettext(locale, "the year must be between {first} and {last}").format(
                    first=FIRST_YEAR, last=LAST_YEAR
                ),
            )
    if code is not None and _has_nul(code):
        raise _problem(["query", "code"], gettext(locale, "control characters are not allowed"))
    day = today or local_today(request)
    since = first or (None if status else day)
    until = last or (first or day) + dt.timedelta(days=90)
    if since is not None and until < since:
        raise _problem(["query", "to"], gettext(locale, "to is earlier than from"))
    due_soon = request.app.state.settings.notify.due_soon_days
    items = control_point_statuses(
        engine_of(request),
        since or dt.date.min,
        until,
        day,
        code=code,
        due_soon_days=due_soon,
        statuses=status,
    )
    return ScheduleOut(
        today=day,
        first=since,
        last=until,
        total=len(items),
        items=[occurrence_out(item, locale) for item in items],
    )


# --- evidence ----------------------------------------------------------------------------------


class EvidenceIn(BaseModel):
    due: dt.date = Field(description="срок, к которому относится документ")
    document: str = Field(min_length=1, max_length=500, description="«Акт № 12 от 14.11.2026»")
    note: str | None = Field(default=None, max_length=4000)


class EvidenceCreated(EvidenceOut):
    code: str
    due: dt.date
    period_start: dt.date


class EvidenceProblem(ValueError):
    """Evidence refused: HTTP status, the field and a message in the caller's language."""

    def __init__(self, status: int, field: str, message: str) -> None:
        self.status = status
        self.field = field
        self.message = message
        super().__init__(message)


def _has_nul(*values: str | None) -> bool:
    return any(v is not None and "\x00" in v for v in values)


def attach(
    request: Request,
    principal: Principal,
    code: str,
    due: dt.date,
    *,
    document: str,
    note: str | None,
    lang: str,
    audit_source: str,
) -> EvidenceInfo:
    """Attach evidence as ``principal`` or raise :class:`EvidenceProblem` (nothing written)."""
    if _has_nul(code, document, note):
        raise EvidenceProblem(422, "document", gettext(lang, "control characters are not allowed"))
    zone: dt.tzinfo = request.app.state.settings.zone
    try:
        return add_evidence(
            engine_of(request),
            code,
            due,
            document,
            note=note,
            actor=principal.username,
            source="user",
            audit_source=audit_source,
        )
    except NotFound as exc:
        message = gettext(lang, "control point {code} not found").format(code=code)
        raise EvidenceProblem(404, "code", message) from exc
    except NotAnOccurrence as exc:
        raise EvidenceProblem(422, "due", exc.describe(lang)) from exc
    except DuplicateEvidence as exc:
        raise EvidenceProblem(409, "due", exc.describe(lang, zone)) from exc
    except InvalidEvidence as exc:
        field = "note" if exc.params.get("field") == "note" else "document"
        raise EvidenceProblem(422, field, exc.describe(lang)) from exc


def parse_due(raw: str, lang: str) -> dt.date:
    """A due date given as text: ``YYYY-MM-DD`` or ``DD.MM.YYYY``; :class:`EvidenceProblem`."""
    from cmdb.fields import FieldError, parse_date

    try:
        day = parse_date(raw)
    except FieldError:
        raise EvidenceProblem(
            422, "due", gettext(lang, "bad due date {value!r}").format(value=raw)
        ) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        message = gettext(lang, "the year must be between {first} and {last}")
        raise EvidenceProblem(422, "due", message.format(first=FIRST_YEAR, last=LAST_YEAR))
    return day


def _http_error(exc: EvidenceProblem, where: str) -> HTTPException:
    """The API's answer to an evidence problem: 422 with the field under ``where``, else as is."""
    if exc.status == 422:
        return _problem([where, exc.field], exc.message)
    return HTTPException(exc.status, exc.message)


def detach(
    request: Request,
    principal: Principal,
    code: str,
    due: dt.date,
    *,
    reason: str | None,
    lang: str,
    audit_source: str,
) -> EvidenceInfo:
    """Remove evidence as ``principal`` or raise :class:`EvidenceProblem` (nothing written).

    404 for an unknown control point and for an occurrence without evidence, 422 for a date
    that is not a due date of the point or an unacceptable reason.
    """
    if _has_nul(code, reason):
        field = "code" if _has_nul(code) else "reason"
        raise EvidenceProblem(422, field, gettext(lang, "control characters are not allowed"))
    try:
        return remove_evidence(
            engine_of(request),
            code,
            due,
            actor=principal.username,
            reason=reason,
            audit_source=audit_source,
        )
    except NotFound as exc:
        message = gettext(lang, "control point {code} not found").format(code=code)
        raise EvidenceProblem(404, "code", message) from exc
    except NotAnOccurrence as exc:
        raise EvidenceProblem(422, "due", exc.describe(lang)) from exc
    except NoEvidence as exc:
        raise EvidenceProblem(404, "due", exc.describe(lang)) from exc
    except InvalidEvidence as exc:
        raise EvidenceProblem(422, "reason", exc.describe(lang)) from exc


@router.post(
    "/control-points/{code}/evidence",
    status_code=201,
    response_model=EvidenceCreated,
    responses={
        **ERRORS,
        404: {"description": "Нет контрольной точки с таким кодом"},
        409: {"description": "У этого срока уже есть подтверждение"},
    },
    summary="Приложить подтверждение к сроку контрольной точки",
)
def create_evidence(
    request: Request,
    code: str,
    body: EvidenceIn,
    principal: Annotated[Principal, Depends(require(Permission.EVIDENCE_WRITE))],
) -> EvidenceCreated:
    lang = _lang(request, principal, None)
    if not FIRST_YEAR <= body.due.year <= LAST_YEAR:
        raise _problem(["body", "due"], gettext(lang, "the year must be between {first} and {last}")
                       .format(first=FIRST_YEAR, last=LAST_YEAR))  # fmt: skip
    try:
        info = attach(request, principal, code, body.due, document=body.document,
                      note=body.note, lang=lang, audit_source="api")  # fmt: skip
    except EvidenceProblem as exc:
        raise _http_error(exc, "body") from None
    return EvidenceCreated(
        code=info.code,
        due=info.due_date,
        period_start=info.period_start,
        **evidence_out(info).model_dump(),
    )


@router.delete(
    "/control-points/{code}/evidence/{due}",
    status_code=204,
    response_class=Response,
    responses={
        **ERRORS,
        204: {"description": "Подтверждение удалено; срок снова ожидает выполнения"},
        404: {"description": "Нет контрольной точки или у этого срока нет подтверждения"},
    },
    summary="Удалить подтверждение, приложенное к сроку контрольной точки по ошибке",
)
def delete_evidence(
    request: Request,
    code: str,
    due: Annotated[
        str,
        Path(max_length=20, description="срок: ГГГГ-ММ-ДД или ДД.ММ.ГГГГ", examples=["2026-11-15"]),
    ],
    principal: Annotated[Principal, Depends(require(Permission.EVIDENCE_WRITE))],
    reason: Annotated[
        str | None,
        Query(max_length=500, description="причина удаления (записывается в журнал аудита)"),
    ] = None,
) -> Response:
    lang = _lang(request, principal, None)
    try:
        day = parse_due(due, lang)
        detach(request, principal, code, day, reason=reason, lang=lang, audit_source="api")
    except EvidenceProblem as exc:
        raise _http_error(exc, "query" if exc.field == "reason" else "path") from None
    return Response(status_code=204)


# --- indicators --------------------------------------------------------------------------------


class IndicatorOut(BaseModel):
    code: str
    title: str
    unit: str
    year: int
    plan_year: int | None = Field(description="год, чей план действует (последний ≤ year)")
    plan: float | None
    fact: float | None
    met: bool | None


class IndicatorsOut(BaseModel):
    year: int
    items: list[IndicatorOut]


def indicator_out(s: IndicatorStatus) -> IndicatorOut:
    return IndicatorOut(
        code=s.code,
        title=s.title,
        unit=s.unit,
        year=s.year,
        plan_year=s.plan_year,
        plan=None if s.plan is None else float(s.plan),
        fact=None if s.fact is None else float(s.fact),
        met=s.met,
    )


@router.get(
    "/reports/indicators",
    response_model=IndicatorsOut,
    responses=ERRORS,
    summary="Показатели: план на год и факт по CMDB",
)
def indicators_progress(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.REPORTS_READ))],
    year: Annotated[
        int | None,
        Query(ge=FIRST_YEAR, le=LAST_YEAR, description="год плана (по умолчанию текущий)"),
    ] = None,
) -> IndicatorsOut:
    chosen = year or local_today(request).year
    return IndicatorsOut(
        year=chosen, items=[indicator_out(s) for s in indicators(engine_of(request), chosen)]
    )


__all__ = ["FORMATS", "REPORT_KINDS", "CpStatus", "router"]
