"""The network engineer's landing page: current outages, sites on backup, counts, and the
provisioning runs once the provisioning package offers a read API for them.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from api.auth import engine_of, require
from api.permissions import Permission, allowed
from api.web.cmdb_pages import ENGINEER_KINDS, kind_title
from api.web.common import language, render
from cmdb.kinds import KINDS
from cmdb.services import counts
from cmdb.status_queries import outages, sites_on_backup, state_counts
from cmdb.users import Principal

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

#: Where the provisioning runs' read API may live: (module, function), first found wins.
#: The function is called as ``fn(engine, limit=N)`` and returns runs newest first, each with
#: ``id``, ``playbook``, ``status``, ``actor``, ``started_at``, ``finished_at``, ``hosts``.
RUNS_API: Final = (("provision.runs", "list_runs"), ("provision.runner", "list_runs"))
RUNS_SHOWN: Final = 10
#: Objects listed in the outage table at most (the total is always shown).
OUTAGES_SHOWN: Final = 100
#: Ledger kind → CMDB kind, for links.
CMDB_KIND: Final = {
    "site": "sites",
    "device": "devices",
    "channel": "channels",
    "vipnet_node": "vipnet-nodes",
    "workstation": "workstations",
}


def provisioning_runs_api() -> Callable[..., list[Any]] | None:
    """The provisioning package's ``list_runs``, if it has one (it is being built separately)."""
    for module_name, attr in RUNS_API:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = getattr(module, attr, None)
        if callable(found):
            fn: Callable[..., list[Any]] = found
            return fn
    return None


def _runs(engine: Engine) -> tuple[bool, list[Any]]:
    api = provisioning_runs_api()
    if api is None:
        return False, []
    return True, list(api(engine, limit=RUNS_SHOWN))


@router.get("/engineer")
def engineer_home(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.CMDB_WRITE, page=True))],
) -> Response:
    engine = engine_of(request)
    lang = language(request, principal)
    down, down_total = outages(engine, limit=OUTAGES_SHOWN)
    on_backup = sites_on_backup(engine)
    per_kind = counts(engine)
    kinds = [(k, kind_title(KINDS[k], lang), per_kind.get(k, 0)) for k in ENGINEER_KINDS]
    show_runs = allowed(principal.role, Permission.PROVISION_READ)
    has_runs_api, runs = _runs(engine) if show_runs else (False, [])
    return render(
        request,
        "engineer/home.html",
        outages=down,
        outages_total=down_total,
        on_backup=on_backup,
        states=state_counts(engine),
        kinds=kinds,
        cmdb_kind=CMDB_KIND,
        show_runs=show_runs,
        has_runs_api=has_runs_api,
        runs=runs,
    )
