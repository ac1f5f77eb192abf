"""The security officer's landing page: the expiry calendar (attestations, ViPNet key sets and
certificates) and the status of the ViPNet crypto nodes.

The page is computed for a day: today in the region's zone, or the ``today`` parameter
(``DD.MM.YYYY`` or ``YYYY-MM-DD``), so the calendar can be looked at as of any date.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.auth import engine_of, require
from api.permissions import Permission
from api.web.common import language, render
from cmdb.calendars import EXPIRED, VALID, ExpiryKind, expiries, expiry_states
from cmdb.journal import BadJournalQuery, parse_day
from cmdb.status_queries import KEY_FILTERS, BadStatusQuery, crypto_nodes
from cmdb.users import Principal

router = APIRouter(include_in_schema=False)

NODES_PER_PAGE: Final = 25
#: Calendar rows shown at most (the counts above the table always cover everything).
CALENDAR_SHOWN: Final = 300
#: The calendar filter's default: what needs attention (everything but «valid»).
ATTENTION: Final = ""
LEDGER_STATES: Final = ("down", "degraded", "unknown", "up")


def state_class(state: str | None) -> str:
    """The CSS class of an expiry state (text says it too; colour only helps)."""
    if state is None:
        return "muted"
    if state == EXPIRED:
        return "overdue"
    if state.startswith("expiring_"):
        return "expiring"
    return "exp-valid"


@router.get("/security")
def security_home(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AUDIT_READ, page=True))],
) -> Response:
    engine = engine_of(request)
    lang = language(request, principal)
    settings = request.app.state.settings
    params = request.query_params
    errors: list[str] = []
    today = dt.datetime.now(settings.zone).date()
    try:
        today = parse_day(params.get("today", "")[:32], "today") or today
    except BadJournalQuery as exc:
        errors.append(exc.reason)
    thresholds = tuple(settings.notify.expiry_days)
    states = expiry_states(thresholds)
    wanted = params.get("exp_state", ATTENTION)
    if wanted not in {*states, "expiring", "all", ATTENTION}:
        wanted = ATTENTION
    everything = expiries(engine, today, thresholds)
    if wanted == "all":
        items = everything
    elif wanted == ATTENTION:
        items = [i for i in everything if i.state != VALID]
    else:
        items = [
            i
            for i in everything
            if i.state == wanted or (wanted == "expiring" and i.state.startswith("expiring_"))
        ]
    calendar = [
        {
            "item": item,
            "kind": item.kind_label(lang),
            "state": item.state_label(lang),
            "css": state_class(item.state),
            "overdue": item.kind is ExpiryKind.ATTESTATION and item.state == EXPIRED,
        }
        for item in items[:CALENDAR_SHOWN]
    ]
    node_state = params.get("node_state", "")
    node_state = node_state if node_state in LEDGER_STATES else ""
    node_keys = params.get("node_keys", "")
    node_keys = node_keys if node_keys in KEY_FILTERS else ""
    node_q = params.get("node_q", "")[:100]
    try:
        page_no = max(1, min(int(params.get("page", "1")), 1_000_000))
    except ValueError:
        page_no = 1
    try:
        nodes = crypto_nodes(
            engine,
            today,
            state=node_state or None,
            keys=node_keys or None,
            q=node_q or None,
            thresholds=thresholds,
            page=page_no,
            per_page=NODES_PER_PAGE,
        )
    except BadStatusQuery as exc:  # pragma: no cover - the values are checked above
        errors.append(exc.reason)
        nodes = crypto_nodes(engine, today, thresholds=thresholds, per_page=NODES_PER_PAGE)
    keep = {
        "today": params.get("today", ""),
        "exp_state": wanted,
        "node_state": node_state,
        "node_keys": node_keys,
        "node_q": node_q,
    }

    def page_link(number: int) -> str:
        query: dict[str, Any] = {k: v for k, v in keep.items() if v}
        query["page"] = number
        return "/security?" + urlencode(query)

    overdue = sum(1 for i in everything if i.kind is ExpiryKind.ATTESTATION and i.state == EXPIRED)
    return render(
        request,
        "security/home.html",
        today=today,
        today_value=params.get("today", ""),
        thresholds=thresholds,
        states=states,
        exp_state=wanted,
        calendar=calendar,
        overdue=overdue,
        expiring=sum(1 for i in everything if i.expiring),
        expired=sum(1 for i in everything if i.state == EXPIRED),
        calendar_total=len(items),
        nodes=nodes,
        node_pages=max(1, -(-nodes.total // NODES_PER_PAGE)),
        node_state=node_state,
        node_keys=node_keys,
        node_q=node_q,
        ledger_states=LEDGER_STATES,
        key_filters=KEY_FILTERS,
        state_class=state_class,
        page_link=page_link,
        errors=errors,
    )
