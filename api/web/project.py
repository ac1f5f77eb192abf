"""The project office pages: monthly uptime by district, control points, indicators, downloads.

``GET /project`` shows, for a month (default: the previous calendar month in the region's zone),
channel availability per district with the uptime report's own SVG charts, the control points'
occurrences with their status (and a form to attach evidence), indicators plan versus fact for
a year, and links to the report in every format. ``POST /project/evidence`` attaches evidence
(audited, as the signed-in user) and redirects back; on an error the page is shown again with
the reason next to the form and the user's input kept. ``POST /project/evidence/remove`` removes
evidence attached by mistake, likewise: the reason is required (it is the confirmation, and the
audit journal keeps it), and the occurrence is due or overdue again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from api.auth import engine_of, require
from api.i18n import gettext
from api.permissions import Permission, allowed
from api.routes.reports import (
    FIRST_YEAR,
    LAST_YEAR,
    EvidenceProblem,
    PeriodError,
    attach,
    detach,
    local_today,
    month_period,
    previous_month,
    uptime_report,
)
from api.web.common import language, render
from cmdb.calendars import CpOccurrence, CpStatus, control_point_statuses
from cmdb.planning import IndicatorStatus, indicators
from cmdb.reports.render import outage_chart, sli_charts
from cmdb.reports.text import fmt_duration, fmt_int, fmt_pct
from cmdb.uptime_types import GroupUptime, UptimeReport
from cmdb.users import Principal

router = APIRouter(include_in_schema=False)

#: Done occurrences older than this are no longer listed (overdue ones always are).
DONE_SHOWN_DAYS: Final = 180
#: Occurrences due up to this many days ahead are listed.
AHEAD_DAYS: Final = 90
DOWNLOADS: Final = ("xlsx", "pdf", "html", "json")
_ORDER: Final = {CpStatus.OVERDUE: 0, CpStatus.DUE: 1, CpStatus.UPCOMING: 2, CpStatus.DONE: 3}


@dataclass(frozen=True)
class DistrictRow:
    name: str
    objects: str
    down: str
    unknown: str
    maintenance: str
    sli: str
    sli_worst: str
    unknown_share: str
    total: bool


def _district_row(group: GroupUptime, lang: str, *, total: bool) -> DistrictRow:
    s = group.seconds
    return DistrictRow(
        name=group.name,
        objects=fmt_int(group.objects, lang),
        down=fmt_duration(s.down_s, lang),
        unknown=fmt_duration(s.unknown_s, lang),
        maintenance=fmt_duration(s.maintenance_s, lang),
        sli=fmt_pct(s.sli, lang),
        sli_worst=fmt_pct(s.sli_worst, lang),
        unknown_share=fmt_pct(s.unknown_share, lang),
        total=total,
    )


def _uptime_context(report: UptimeReport, lang: str) -> dict[str, Any]:
    districts = sorted(
        (g for g in report.groups if g.level == "district" and g.kind == "channel"),
        key=lambda g: (g.name.casefold(), g.key),
    )
    region = [g for g in report.groups if g.level == "region" and g.kind == "channel"]
    rows = [_district_row(g, lang, total=False) for g in districts]
    rows += [_district_row(g, lang, total=True) for g in region]
    # The report's own charts: SVG whose every text cmdb.reports.charts escapes, drawn with
    # presentation attributes only (no style attribute, no script), so the page's
    # Content-Security-Policy lets them through as they are.
    svgs = sli_charts(districts, "channel", lang) if districts else []
    charts = [Markup(svg) for svg in svgs]  # noqa: S704 - escaped by cmdb.reports.charts
    outages = Markup(outage_chart(report, ZoneInfo(report.zone), lang))  # noqa: S704 - idem
    return {
        "district_rows": rows,
        "sli_charts": charts,
        "outage_chart": outages,
        "any_outage": any(report.outages_by_day.values()),
        "channels": sum(1 for o in report.objects if o.kind == "channel"),
    }


def _occurrences(request: Request, today: dt.date) -> list[CpOccurrence]:
    due_soon = request.app.state.settings.notify.due_soon_days
    items = control_point_statuses(
        engine_of(request),
        dt.date.min,
        today + dt.timedelta(days=AHEAD_DAYS),
        today,
        due_soon_days=due_soon,
    )
    oldest_done = today - dt.timedelta(days=DONE_SHOWN_DAYS)
    shown = [i for i in items if i.status is not CpStatus.DONE or i.due >= oldest_done]
    return sorted(
        shown,
        key=lambda i: (
            _ORDER[i.status],
            -i.due.toordinal() if i.status is CpStatus.DONE else i.due.toordinal(),
            i.code,
        ),
    )


def _year(raw: str | None, today: dt.date) -> tuple[int, str | None]:
    if raw is None or raw.strip() == "":
        return today.year, None
    text = raw.strip()
    if text.isdigit() and FIRST_YEAR <= int(text) <= LAST_YEAR:
        return int(text), None
    return today.year, text


async def _page(
    request: Request,
    principal: Principal,
    month: str | None,
    year: str | None,
    *,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    lang = language(request, principal)
    zone: dt.tzinfo = request.app.state.settings.zone
    today = local_today(request)
    chosen = month.strip() if month and month.strip() else previous_month(zone)
    context: dict[str, Any] = {"month": chosen, "month_error": None}
    try:
        period = month_period(chosen, zone)
    except PeriodError as exc:
        context["month_error"] = exc.describe(lang)
        status_code = 422
    else:
        context["month"] = period.label or chosen
        report = await run_in_threadpool(uptime_report, request, period, ("channel",))
        context.update(_uptime_context(report, lang))
        context["period_start"] = period.start.astimezone(zone).date()
        context["period_last"] = (period.end - dt.timedelta(microseconds=1)).astimezone(zone).date()
        context["downloads"] = [
            (fmt, "/api/v1/reports/uptime?" + urlencode({"month": context["month"], "format": fmt}))
            for fmt in DOWNLOADS
        ]
    plan_year, year_error = _year(year, today)
    if year_error is not None:
        status_code = 422
    indicator_rows: list[IndicatorStatus] = await run_in_threadpool(
        indicators, engine_of(request), plan_year
    )
    show_calendar = allowed(principal.role, Permission.CALENDAR_READ)
    occurrences = await run_in_threadpool(_occurrences, request, today) if show_calendar else []
    form = form or {}
    attached = _changed(request, "attached")
    removed = _changed(request, "removed")
    return render(
        request,
        "project/index.html",
        status_code=status_code,
        today=today,
        occurrences=occurrences,
        show_calendar=show_calendar,
        cp_label=lambda status: CpStatus(status).label(lang),
        can_attach=allowed(principal.role, Permission.EVIDENCE_WRITE),
        form=form,
        # whether the row the form belongs to is listed (its error is shown there, else below)
        form_in_table=any(
            (i.code, i.due.isoformat()) == (form.get("code"), form.get("due")) for i in occurrences
        ),
        attached=attached,
        removed=removed,
        plan_year=plan_year,
        year_input=year if year_error is not None else str(plan_year),
        year_error=(
            gettext(lang, "{value!r}: the year must be between {first} and {last}").format(
                value=year_error, first=FIRST_YEAR, last=LAST_YEAR
            )
            if year_error is not None
            else None
        ),
        indicators=indicator_rows,
        fmt_number=lambda value: _number(value, lang),
        **context,
    )


def _changed(request: Request, what: str) -> tuple[str, dt.date] | None:
    """The occurrence the previous POST attached or removed evidence of (the redirect's query:
    ``attached=CODE&due=…`` or ``removed=CODE&due=…``)."""
    code = request.query_params.get(what)
    try:
        due = dt.date.fromisoformat(request.query_params.get("due", ""))
    except ValueError:
        return None
    return (code, due) if code else None


def _number(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    text = format(value.normalize(), "f") if hasattr(value, "normalize") else str(value)
    return text.replace(".", ",") if lang == "ru" else text


@router.get("/project")
async def project(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.REPORTS_READ, page=True))],
    month: str | None = None,
    year: str | None = None,
) -> Response:
    return await _page(request, principal, month, year)


def _form_due(due: str, lang: str) -> tuple[dt.date | None, str]:
    """The due date posted by an evidence form (ISO), or None and the message why not."""
    try:
        day = dt.date.fromisoformat(due)
        if FIRST_YEAR <= day.year <= LAST_YEAR:
            return day, ""
    except ValueError:
        pass
    return None, gettext(lang, "bad due date {value!r}").format(value=due)


def _back_to_control_points(month: str, **params: str) -> RedirectResponse:
    """After a form: back to the page's control points, in the month it was posted from."""
    query = urlencode({"month": month, **params} if month else params)
    return RedirectResponse(f"/project?{query}#control-points", status_code=303)


@router.post("/project/evidence")
async def project_evidence(  # noqa: PLR0917 - FastAPI reads the form from the signature
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.EVIDENCE_WRITE, page=True))],
    code: Annotated[str, Form(max_length=64)] = "",
    due: Annotated[str, Form(max_length=20)] = "",
    document: Annotated[str, Form(max_length=2000)] = "",
    note: Annotated[str, Form(max_length=8000)] = "",
    month: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    lang = language(request, principal)
    form = {"code": code, "due": due, "document": document, "note": note}
    due_date, problem = _form_due(due, lang)
    if due_date is None:
        form.update(field="due", error=problem)
        return await _page(request, principal, month, None, form=form, status_code=422)
    try:
        info = await run_in_threadpool(
            lambda: attach(
                request,
                principal,
                code,
                due_date,
                document=document,
                note=note or None,
                lang=lang,
                audit_source="web",
            )
        )
    except EvidenceProblem as exc:
        form.update(field=exc.field, error=exc.message)
        status = 404 if exc.status == 404 else 409 if exc.status == 409 else 422
        return await _page(request, principal, month, None, form=form, status_code=status)
    return _back_to_control_points(month, attached=info.code, due=info.due_date.isoformat())


@router.post("/project/evidence/remove")
async def project_evidence_remove(  # noqa: PLR0917 - FastAPI reads the form from the signature
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.EVIDENCE_WRITE, page=True))],
    code: Annotated[str, Form(max_length=64)] = "",
    due: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    month: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    lang = language(request, principal)
    form = {"action": "remove", "code": code, "due": due, "reason": reason}
    due_date, problem = _form_due(due, lang)
    if due_date is None:
        form.update(field="due", error=problem)
        return await _page(request, principal, month, None, form=form, status_code=422)
    if not reason.strip():
        form.update(
            field="reason", error=gettext(lang, "give the reason for removing the evidence")
        )
        return await _page(request, principal, month, None, form=form, status_code=422)
    try:
        info = await run_in_threadpool(
            lambda: detach(
                request, principal, code, due_date, reason=reason, lang=lang, audit_source="web"
            )
        )
    except EvidenceProblem as exc:
        form.update(field=exc.field, error=exc.message)
        return await _page(request, principal, month, None, form=form, status_code=exc.status)
    return _back_to_control_points(month, removed=info.code, due=info.due_date.isoformat())
