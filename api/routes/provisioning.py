"""Provisioning runs (per host and task, with diffs) and gate overrides, over the API."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import engine_of, require
from api.permissions import Permission
from cmdb.models import OverrideTarget
from cmdb.users import Principal
from provision.gate import add_override, list_overrides, revoke_override
from provision.runner import count_runs, get_run, list_runs

router = APIRouter(prefix="/api/v1/provisioning", tags=["provisioning"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Нет аутентификации"},
    403: {"description": "Недостаточно прав"},
    404: {"description": "Не найдено"},
    422: {"description": "Ошибка в данных"},
}
Reader = Annotated[Principal, Depends(require(Permission.PROVISION_READ))]
Officer = Annotated[Principal, Depends(require(Permission.PROVISION_OVERRIDE))]


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_kind: OverrideTarget
    target_key: str = Field(min_length=1, max_length=255)
    reason: str = Field(min_length=1, max_length=2000)
    valid_until: dt.datetime = Field(description="до какого момента (с часовым поясом)")


@router.get("/runs", responses=ERRORS, summary="Запуски развёртывания")
def runs(
    request: Request,
    principal: Reader,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    engine = engine_of(request)
    items = list_runs(engine, limit=per_page, offset=(page - 1) * per_page)
    return {
        "total": count_runs(engine),
        "page": page,
        "per_page": per_page,
        "items": [dataclasses.asdict(item) for item in items],
    }


@router.get("/runs/{run_id}", responses=ERRORS, summary="Запуск: узлы и задачи с diff")
def run(
    request: Request,
    run_id: int,
    principal: Reader,
    host: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    return dataclasses.asdict(get_run(engine_of(request), run_id, host=host))


@router.get("/overrides", responses=ERRORS, summary="Разрешения специалиста по ЗИ")
def overrides(request: Request, principal: Reader, live: bool = False) -> list[dict[str, Any]]:
    return [dataclasses.asdict(o) for o in list_overrides(engine_of(request), live_only=live)]


@router.post("/overrides", status_code=201, responses=ERRORS, summary="Разрешить запуск")
def create_override(request: Request, officer: Officer, body: OverrideIn) -> dict[str, Any]:
    if body.valid_until.tzinfo is None:
        body.valid_until = body.valid_until.replace(tzinfo=request.app.state.settings.zone)
    info = add_override(
        engine_of(request),
        body.target_kind,
        body.target_key,
        reason=body.reason,
        valid_until=body.valid_until,
        approved_by=officer.username,
        actor=officer.username,
        source="api",
    )
    return dataclasses.asdict(info)


@router.delete("/overrides/{override_id}", status_code=204, responses=ERRORS, summary="Отозвать")
def delete_override(request: Request, override_id: int, officer: Officer) -> Response:
    revoke_override(engine_of(request), override_id, actor=officer.username, source="api")
    return Response(status_code=204)
