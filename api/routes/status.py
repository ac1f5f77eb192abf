"""Status and ledger read endpoints: current states, one object's history, failovers, and the
expiry calendar (attestations, ViPNet key sets and certificates).
"""

# No `from __future__ import annotations`: FastAPI reads the parameter types at runtime.

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from api.auth import engine_of, require
from api.permissions import Permission
from cmdb.calendars import EXPIRED, ExpiryItem, ExpiryKind, expiries, expiry_states
from cmdb.choices import ObjectKind, State
from cmdb.journal import parse_day
from cmdb.status_queries import (
    BadStatusQuery,
    current_states,
    failovers,
    object_status,
)
from cmdb.users import Principal

router = APIRouter(prefix="/api/v1", tags=["status"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Нет аутентификации"},
    403: {"description": "Недостаточно прав"},
    422: {"description": "Недопустимый фильтр: параметр и причина"},
}

STATUS_READ = require(Permission.STATUS_READ)
CALENDAR_READ = require(Permission.CALENDAR_READ)

KindName = Literal["site", "device", "channel", "vipnet_node", "workstation"]
StateName = Literal["up", "down", "degraded", "unknown"]
assert set(KindName.__args__) == {k.value for k in ObjectKind}  # type: ignore[attr-defined]
assert set(StateName.__args__) == {s.value for s in State}  # type: ignore[attr-defined]


class VantageStateOut(BaseModel):
    kind: str
    key: str
    vantage: str
    state: str
    since: dt.datetime
    last_seen_at: dt.datetime | None


class StatePageOut(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[VantageStateOut]


class TransitionOut(BaseModel):
    vantage: str
    at: dt.datetime
    from_state: str | None
    to_state: str
    reason: str | None
    source: str | None


class ObjectStatusOut(BaseModel):
    kind: str
    key: str
    current: list[VantageStateOut]
    history_total: int
    history: list[TransitionOut]


class FailoverOut(BaseModel):
    site: str
    redundancy_group: str | None
    vantage: str
    at: dt.datetime
    kind: str
    active_channel: str | None
    detail: str | None


class FailoverPageOut(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[FailoverOut]


class ExpiryOut(BaseModel):
    kind: str
    kind_label: str
    key: str
    name: str
    until: dt.date
    days_left: int
    state: str
    state_label: str
    #: an attestation whose date has passed: the re-attestation is overdue
    overdue: bool


class CalendarOut(BaseModel):
    today: dt.date
    thresholds: list[int]
    items: list[ExpiryOut]


def _page_size(request: Request, per_page: int | None) -> int:
    limits = request.app.state.api_settings
    return int(min(per_page or limits.default_page_size, limits.max_page_size))


@router.get("/status", response_model=StatePageOut, responses=ERRORS, summary="Текущие состояния")
def list_status(  # noqa: PLR0917 - query parameters
    request: Request,
    principal: Annotated[Principal, Depends(STATUS_READ)],
    kind: Annotated[KindName | None, Query()] = None,
    state: Annotated[StateName | None, Query()] = None,
    site: Annotated[str | None, Query(max_length=64, description="код площадки")] = None,
    vantage: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> StatePageOut:
    result = current_states(
        engine_of(request),
        kind=kind,
        state=state,
        site=site or None,
        vantage=vantage or None,
        page=page,
        per_page=_page_size(request, per_page),
    )
    return StatePageOut(
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        items=[VantageStateOut(**vars(item)) for item in result.items],
    )


@router.get(
    "/status/{kind}/{key}",
    response_model=ObjectStatusOut,
    responses=ERRORS,
    summary="Состояние объекта и история переходов",
)
def get_status(  # noqa: PLR0917 - path and query parameters
    request: Request,
    kind: KindName,
    key: str,
    principal: Annotated[Principal, Depends(STATUS_READ)],
    vantage: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ObjectStatusOut:
    found = object_status(engine_of(request), kind, key, vantage=vantage or None, limit=limit)
    return ObjectStatusOut(
        kind=found.kind,
        key=found.key,
        current=[VantageStateOut(**vars(item)) for item in found.current],
        history_total=found.history_total,
        history=[
            TransitionOut(
                vantage=h.vantage,
                at=h.at,
                from_state=h.previous,
                to_state=h.state,
                reason=h.reason,
                source=h.source,
            )
            for h in found.history
        ],
    )


def parse_moment(raw: str | None, parameter: str, zone: dt.tzinfo, *, end: bool) -> Any:
    """A period bound: a day (DD.MM.YYYY / YYYY-MM-DD; an end day is inclusive) or an ISO 8601
    time (naive means the region's zone); UTC."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if "T" in text or ":" in text:
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise BadStatusQuery(
                parameter, f"ожидается дата или время ISO 8601: {text!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(dt.UTC)
    day = parse_day(text, parameter)
    assert day is not None
    if end:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


@router.get(
    "/failovers", response_model=FailoverPageOut, responses=ERRORS, summary="Переходы на резерв"
)
def list_failovers(  # noqa: PLR0917 - query parameters
    request: Request,
    principal: Annotated[Principal, Depends(STATUS_READ)],
    site: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> FailoverPageOut:
    zone: dt.tzinfo = request.app.state.settings.zone
    result = failovers(
        engine_of(request),
        site=site or None,
        since=parse_moment(date_from, "from", zone, end=False),
        until=parse_moment(date_to, "to", zone, end=True),
        page=page,
        per_page=_page_size(request, per_page),
    )
    return FailoverPageOut(
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        items=[
            FailoverOut(
                site=f.site,
                redundancy_group=f.group,
                vantage=f.vantage,
                at=f.at,
                kind=f.kind,
                active_channel=f.active_channel,
                detail=f.detail,
            )
            for f in result.items
        ],
    )


def expiry_out(item: ExpiryItem, locale: str) -> ExpiryOut:
    return ExpiryOut(
        kind=item.kind.value,
        kind_label=item.kind_label(locale),
        key=item.key,
        name=item.name,
        until=item.until,
        days_left=item.days_left,
        state=item.state,
        state_label=item.state_label(locale),
        overdue=item.kind is ExpiryKind.ATTESTATION and item.state == EXPIRED,
    )


def calendar_today(request: Request, raw: str | None) -> dt.date:
    """The day the calendar is computed for: ``today`` if given, else the region's today."""
    given = parse_day(raw, "today")
    zone: dt.tzinfo = request.app.state.settings.zone
    return given or dt.datetime.now(zone).date()


@router.get("/calendar", response_model=CalendarOut, responses=ERRORS, summary="Сроки действия")
def get_calendar(  # noqa: PLR0917 - query parameters
    request: Request,
    principal: Annotated[Principal, Depends(CALENDAR_READ)],
    today: Annotated[
        str | None, Query(max_length=32, description="на дату (по умолчанию сегодня)")
    ] = None,
    within: Annotated[int | None, Query(ge=0, le=36_600, description="не далее N дней")] = None,
    state: Annotated[
        list[str] | None,
        Query(max_length=10, description="valid, expiring, expiring_N, expired, overdue"),
    ] = None,
    kind: Annotated[
        Literal["attestation", "vipnet_keys", "vipnet_certificate"] | None, Query()
    ] = None,
    lang: Annotated[Literal["ru", "en"], Query()] = "ru",
) -> CalendarOut:
    day = calendar_today(request, today)
    thresholds = request.app.state.settings.notify.expiry_days
    wanted = set(state or [])
    known = {*expiry_states(thresholds), "expiring", "overdue"}
    unknown = wanted - known
    if unknown:
        raise BadStatusQuery(
            "state",
            f"недопустимое состояние {sorted(unknown)[0]!r}; допустимы: {', '.join(sorted(known))}",
        )
    items = [
        expiry_out(item, lang)
        for item in expiries(engine_of(request), day, thresholds, within=within)
        if kind is None or item.kind.value == kind
    ]
    if wanted:
        items = [
            i
            for i in items
            if i.state in wanted
            or ("expiring" in wanted and i.state.startswith("expiring_"))
            or ("overdue" in wanted and i.overdue)
        ]
    return CalendarOut(today=day, thresholds=list(thresholds), items=items)
