"""The helpdesk API: site search, the site (FAP) card, and "check now" (a live poll).

``POST /api/v1/helpdesk/sites/{code}/check`` polls the site's devices over SNMP and probes its
channels' addresses over ICMP right now, with the collectors' own code (poll plans, credential
profiles, the channel-state rule of :func:`collectors.runner.channel_state`) and short timeouts.
The result is returned, logged, and **not** written to the status ledger: one unscheduled poll
from the API server is not a vantage point (it would add a vantage that is never refreshed and
never expires, and its single answer would outvote a collector's debounced «down» under the
"down only when every vantage says down" rule). The collectors' next cycle records the truth.

SNMP credentials and the SNMP port come from the collectors' settings
(``KONTUR_COLLECTOR__SNMP__CREDENTIALS_FILE``, ``KONTUR_COLLECTOR__SNMP__PORT``), read once per
application on the first check.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.auth import engine_of, require
from api.i18n import gettext
from api.permissions import Permission
from api.web.common import language
from cmdb.choices import label
from cmdb.helpdesk import (
    DOWN,
    LINK_BACKUP,
    LINK_DOWN,
    LINK_PRIMARY,
    UNKNOWN,
    WORKING,
    SearchHit,
    SiteCard,
    card,
    search,
)
from cmdb.types import utcnow
from cmdb.users import Principal
from collectors.adapters import IcmpAddressProber, SnmpDevicePoller
from collectors.icmp import Pinger
from collectors.runner import DeviceResult, ProbeResult, channel_state
from collectors.settings import CollectorSettings, IcmpSettings, SnmpSettings
from collectors.snmp.client import FastSnmpClient
from collectors.snmp.credentials import CredentialStore
from collectors.snmp.errors import SnmpConfigError
from collectors.snmp.poller import SnmpPoller
from collectors.snmp.profiles import PollProfiles, load_profiles
from collectors.targets import ChannelTarget, DeviceTarget

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["helpdesk"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Нет аутентификации"},
    403: {"description": "Недостаточно прав"},
    404: {"description": "Площадка не найдена"},
    422: {"description": "Ошибка в параметрах запроса"},
}

#: The whole live check gives up after this long (devices and channels are polled at once).
CHECK_DEADLINE_S: Final = 8.0
SNMP_TIMEOUT_S: Final = 1.0
SNMP_RETRIES: Final = 1
ICMP_PACKETS: Final = 3

SiteCode = Annotated[str, Path(min_length=1, max_length=64, description="код площадки")]


# --- texts ----------------------------------------------------------------------------------------


def link_text(link: str, lang: str) -> str:
    """«на основном канале», «на резервном канале», «нет связи» or «нет данных»."""
    english = {
        LINK_PRIMARY: "on the primary channel",
        LINK_BACKUP: "on the backup channel",
        LINK_DOWN: "no connection",
    }.get(link, "no data")
    return gettext(lang, english)


def reachable_text(reachable: bool | None, lang: str) -> str:
    """«доступен», «недоступен» or «нет данных»."""
    english = "reachable" if reachable else "unreachable" if reachable is False else "no data"
    return gettext(lang, english)


def state_text(state: str, lang: str) -> str:
    """The label of a state (``backup``: «на резервном канале»)."""
    if state == LINK_BACKUP:
        return link_text(LINK_BACKUP, lang)
    return label(state, lang)


# --- search and card ------------------------------------------------------------------------------


class HitOut(BaseModel):
    code: str
    name: str
    kind: str
    kind_label: str
    district: str | None
    organization: str | None
    matched_kind: str
    matched: str
    state: str
    display: str
    display_label: str
    url: str


class SearchOut(BaseModel):
    q: str
    items: list[HitOut]


def hit_out(hit: SearchHit, lang: str) -> HitOut:
    return HitOut(
        **dataclasses.asdict(hit),
        kind_label=label(hit.kind, lang),
        display_label=state_text(hit.display, lang),
        url=f"/helpdesk/sites/{hit.code}",
    )


@router.get(
    "/helpdesk/search",
    response_model=SearchOut,
    responses=ERRORS,
    summary="Поиск площадки (ФАП): название, код, район, имя устройства или АРМ, ID ViPNet",
)
def search_sites(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.STATUS_READ))],
    q: Annotated[str, Query(min_length=1, max_length=200, description="что искать")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchOut:
    lang = language(request, principal)
    hits = search(engine_of(request), q, limit)
    return SearchOut(q=q, items=[hit_out(h, lang) for h in hits])


class CardSummary(BaseModel):
    """The card's headline in the caller's language."""

    state_label: str
    reachable_label: str
    link_label: str


class CardOut(BaseModel):
    site: SiteCard
    summary: CardSummary


def card_out(site: SiteCard, lang: str) -> CardOut:
    return CardOut(
        site=site,
        summary=CardSummary(
            state_label=label(site.now.state, lang),
            reachable_label=reachable_text(site.reachable, lang),
            link_label=link_text(site.link, lang),
        ),
    )


@router.get(
    "/helpdesk/sites/{code}",
    response_model=CardOut,
    responses=ERRORS,
    summary="Карточка площадки (ФАП): связь, каналы, ViPNet, сбои за 30 дней, работы",
)
def site_card(
    request: Request,
    code: SiteCode,
    principal: Annotated[Principal, Depends(require(Permission.STATUS_READ))],
) -> CardOut:
    settings = request.app.state.settings
    site = card(engine_of(request), code, utcnow(), settings.zone)
    return card_out(site, language(request, principal))


# --- check now ------------------------------------------------------------------------------------


class CheckedObject(BaseModel):
    kind: Literal["device", "channel"]
    key: str
    state: str
    state_label: str
    #: Why the state is what it is (error kind, interface down, packet loss), or None.
    detail: str | None
    rtt_ms: float | None = None
    loss_pct: float | None = None


class CheckOut(BaseModel):
    site: str
    checked_at: dt.datetime
    reachable: bool | None
    reachable_label: str
    #: Always false: a live check is not written to the status ledger (see the module docs).
    recorded: bool = False
    objects: list[CheckedObject]


@dataclasses.dataclass
class LiveChecker:
    """What a live check needs, built once per application from the collectors' settings."""

    snmp: SnmpSettings
    icmp: IcmpSettings
    credentials: CredentialStore | None
    problem: str | None
    profiles: PollProfiles


def _checker(request: Request) -> LiveChecker:
    found: LiveChecker | None = getattr(request.app.state, "helpdesk_checker", None)
    if found is not None:
        return found
    settings = CollectorSettings()
    snmp = settings.snmp.model_copy(
        update={"timeout_s": min(settings.snmp.timeout_s, SNMP_TIMEOUT_S), "retries": SNMP_RETRIES}
    )
    icmp = settings.icmp.model_copy(
        update={"packets": ICMP_PACKETS, "timeout_s": min(settings.icmp.timeout_s, 1.0)}
    )
    credentials: CredentialStore | None = None
    problem = None
    try:
        credentials = CredentialStore.from_settings(settings.snmp)
    except SnmpConfigError as exc:
        problem = str(exc)
        logger.warning("live checks without SNMP: %s", exc)
    checker = LiveChecker(snmp, icmp, credentials, problem, load_profiles())
    request.app.state.helpdesk_checker = checker
    return checker


async def _poll(
    checker: LiveChecker, devices: list[DeviceTarget], addresses: list[str]
) -> tuple[dict[str, DeviceResult], dict[str, ProbeResult]]:
    credentials = checker.credentials or CredentialStore({}, source="none")
    async with FastSnmpClient(checker.snmp, credentials) as client, Pinger() as pinger:
        poller = SnmpDevicePoller(
            SnmpPoller(client, checker.profiles, credentials), checker.snmp.port
        )
        prober = IcmpAddressProber(pinger, checker.icmp) if checker.icmp.enabled else None
        polled = devices if checker.credentials is not None else []
        device_results, probe_results = await asyncio.gather(
            asyncio.gather(*(poller.poll(d) for d in polled)),
            asyncio.gather(*(prober.probe(a) for a in addresses)) if prober else _nothing(),
        )
    return {r.name: r for r in device_results}, {r.address: r for r in probe_results}


async def _nothing() -> list[ProbeResult]:
    return []


def _device_object(name: str, result: DeviceResult | None, why_not: str | None, lang: str) -> Any:
    if result is None:
        return CheckedObject(
            kind="device", key=name, state=UNKNOWN, state_label=label(UNKNOWN, lang),
            detail=why_not,
        )  # fmt: skip
    state = "up" if result.reachable else DOWN
    return CheckedObject(
        kind="device", key=name, state=state, state_label=label(state, lang), detail=result.error
    )


@router.post(
    "/helpdesk/sites/{code}/check",
    response_model=CheckOut,
    responses=ERRORS,
    summary="Проверить площадку сейчас: живой опрос устройств (SNMP) и каналов (ICMP)",
)
async def check_site(
    request: Request,
    code: SiteCode,
    principal: Annotated[Principal, Depends(require(Permission.STATUS_CHECK))],
) -> CheckOut:
    lang = language(request, principal)
    settings = request.app.state.settings
    site = await run_in_threadpool(card, engine_of(request), code, utcnow(), settings.zone)
    checker = _checker(request)
    devices = [
        DeviceTarget(
            name=d.name, site=site.code, host=d.mgmt_address or "", platform=d.platform,
            credential=d.snmp_profile or "",
            interfaces=tuple(sorted({c.interface for c in site.channels
                                     if c.device == d.name and c.interface})),
        )
        for d in site.devices
        if d.mgmt_address and d.snmp_profile and d.status != "decommissioned"
    ]  # fmt: skip
    channels = [
        ChannelTarget(c.key, site.code, c.z_site, c.role, c.redundancy_group, c.device,
                      c.interface, c.address)
        for c in site.channels
        if c.status == "active"
    ]  # fmt: skip
    addresses = sorted({c.address for c in channels if c.address})
    started = utcnow()
    try:
        device_results, probes = await asyncio.wait_for(
            _poll(checker, devices, addresses), CHECK_DEADLINE_S
        )
    except TimeoutError:
        device_results, probes = {}, {}
    polled = {d.name for d in devices}
    objects = []
    for d in site.devices:
        why_not = None
        if d.name not in polled:
            why_not = gettext(lang, "not polled: no management address or SNMP profile")
        elif checker.credentials is None:
            why_not = gettext(lang, "not polled: SNMP credentials are not configured")
        elif d.name not in device_results:
            why_not = gettext(lang, "no answer in time")
        objects.append(_device_object(d.name, device_results.get(d.name), why_not, lang))
    for ch in channels:
        probe = probes.get(ch.address or "")
        device = device_results.get(ch.device or "")
        raw = channel_state(ch, device, probe, checker.icmp.degraded_loss_pct)
        state = raw.value if raw is not None else UNKNOWN
        detail = None
        if device is not None and ch.interface and device.interfaces.get(ch.interface) is False:
            detail = gettext(lang, "interface {name} is down").format(name=ch.interface)
        elif probe is not None and probe.error:
            detail = probe.error
        objects.append(
            CheckedObject(
                kind="channel", key=ch.key, state=state, state_label=label(state, lang),
                detail=detail, rtt_ms=probe.rtt_avg_ms if probe else None,
                loss_pct=probe.loss_pct if probe and not probe.error else None,
            )
        )  # fmt: skip
    known = [o.state for o in objects if o.state != UNKNOWN]
    reachable = any(s in WORKING for s in known) if known else None
    logger.info(
        "live check of %s by %s: %s (%d objects, %.1f s)", site.code, principal.username,
        reachable, len(objects), (utcnow() - started).total_seconds(),
    )  # fmt: skip
    return CheckOut(
        site=site.code,
        checked_at=started,
        reachable=reachable,
        reachable_label=reachable_text(reachable, lang),
        objects=objects,
    )
