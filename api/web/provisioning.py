"""Provisioning pages: runs with per-host/task results and diffs; gate overrides."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import engine_of, require
from api.permissions import Permission, allowed
from api.web.common import render
from cmdb.errors import KonturError
from cmdb.models import OverrideTarget
from cmdb.users import Principal
from provision.gate import add_override, list_overrides
from provision.runner import count_runs, get_run, list_runs

router = APIRouter(include_in_schema=False)
PER_PAGE = 30


@router.get("/provisioning")
def runs_page(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.PROVISION_READ, page=True))],
    page: int = 1,
) -> Response:
    engine = engine_of(request)
    page = max(1, page)
    total = count_runs(engine)
    return render(
        request,
        "provisioning/runs.html",
        runs=list_runs(engine, limit=PER_PAGE, offset=(page - 1) * PER_PAGE),
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        overrides=list_overrides(engine),
        now=dt.datetime.now(dt.UTC),
        can_override=allowed(principal.role, Permission.PROVISION_OVERRIDE),
        targets=[t.value for t in OverrideTarget],
        form={},
        error=None,
    )


@router.get("/provisioning/runs/{run_id}")
def run_page(
    request: Request,
    run_id: int,
    principal: Annotated[Principal, Depends(require(Permission.PROVISION_READ, page=True))],
) -> Response:
    try:
        run = get_run(engine_of(request), run_id)
    except KonturError:
        return render(request, "provisioning/missing.html", status_code=404, run_id=run_id)
    return render(request, "provisioning/run.html", run=run)


@router.post("/provisioning/overrides")
def override_form(  # noqa: PLR0917 - FastAPI reads form fields from the signature
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.PROVISION_OVERRIDE, page=True))],
    target_kind: Annotated[str, Form(max_length=32)] = "",
    target_key: Annotated[str, Form(max_length=255)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    valid_until: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    zone = request.app.state.settings.zone
    form = {
        "target_kind": target_kind,
        "target_key": target_key,
        "reason": reason,
        "valid_until": valid_until,
    }
    error: str | None = None
    try:
        day = dt.datetime.strptime(valid_until.strip(), "%d.%m.%Y")
    except ValueError:
        try:
            day = dt.datetime.strptime(valid_until.strip(), "%Y-%m-%d")
        except ValueError:
            day = None
            error = "valid_until"
    if day is not None:
        until = (day + dt.timedelta(days=1)).replace(tzinfo=zone)  # to the end of that day
        try:
            add_override(
                engine_of(request),
                target_kind,
                target_key.strip(),
                reason=reason,
                valid_until=until,
                approved_by=principal.username,
                actor=principal.username,
                source="web",
            )
        except (KonturError, ValueError) as exc:
            error = str(exc)
        else:
            return RedirectResponse("/provisioning", status_code=303)
    engine = engine_of(request)
    total = count_runs(engine)
    return render(
        request,
        "provisioning/runs.html",
        status_code=422,
        runs=list_runs(engine, limit=PER_PAGE),
        total=total,
        page=1,
        pages=max(1, -(-total // PER_PAGE)),
        overrides=list_overrides(engine),
        now=dt.datetime.now(dt.UTC),
        can_override=True,
        targets=[t.value for t in OverrideTarget],
        form=form,
        error=error,
    )
