"""Named fact queries of indicators: how the CMDB measures an indicator's actual value.

A registry as a dict; an indicator row names one of these keys in its ``fact_query`` column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cmdb.choices import ChannelStatus, SiteKind, SiteStatus
from cmdb.models import Channel, Site, Workstation

RURAL: Final = (SiteKind.FAP.value, SiteKind.FP.value)
MO_UNITS: Final = (SiteKind.MO_MAIN.value, SiteKind.MO_UNIT.value, SiteKind.AMBULANCE.value)


@dataclass(frozen=True)
class FactQuery:
    """A named measurement over the CMDB."""

    title_ru: str
    title_en: str
    compute: Callable[[Session], Decimal]


def _awp_count(kinds: tuple[str, ...] | None, protected_only: bool) -> Callable[[Session], Decimal]:
    def compute(session: Session) -> Decimal:
        query: Select[tuple[int]] = (
            select(func.count(Workstation.id))
            .join(Site, Site.id == Workstation.site_id)
            .where(Site.status != SiteStatus.DECOMMISSIONED.value)
        )
        if kinds is not None:
            query = query.where(Site.kind.in_(kinds))
        if protected_only:
            query = query.where(Workstation.protected_network.is_(True))
        return Decimal(session.scalar(query) or 0)

    return compute


def _share(kinds: tuple[str, ...] | None) -> Callable[[Session], Decimal]:
    total, protected = _awp_count(kinds, False), _awp_count(kinds, True)

    def compute(session: Session) -> Decimal:
        whole = total(session)
        if not whole:
            return Decimal(0)
        return (protected(session) * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_UP)

    return compute


def _rural_sites_connected(session: Session) -> Decimal:
    query = (
        select(func.count(func.distinct(Site.id)))
        .join(Channel, (Channel.a_site_id == Site.id) | (Channel.z_site_id == Site.id))
        .where(Site.kind.in_(RURAL), Channel.status == ChannelStatus.ACTIVE.value)
    )
    return Decimal(session.scalar(query) or 0)


FACT_QUERIES: Final[dict[str, FactQuery]] = {
    "awp_total": FactQuery("Всего АРМ", "AWPs in total", _awp_count(None, False)),
    "awp_protected_share": FactQuery(
        "Доля АРМ, подключённых к ЗСПД, %",
        "Share of AWPs on the protected network, %",
        _share(None),
    ),
    "awp_protected_share_tvsp": FactQuery(
        "Доля АРМ ТВСП МО в ЗСПД, %",
        "Share of MO-unit AWPs on the protected network, %",
        _share(MO_UNITS),
    ),
    "awp_protected_share_fap": FactQuery(
        "Доля АРМ ФАП и ФП в ЗСПД, %",
        "Share of FAP/FP AWPs on the protected network, %",
        _share(RURAL),
    ),
    "awp_protected_tvsp": FactQuery(
        "АРМ ТВСП МО в ЗСПД", "MO-unit AWPs on the protected network", _awp_count(MO_UNITS, True)
    ),
    "awp_protected_fap": FactQuery(
        "АРМ ФАП и ФП в ЗСПД", "FAP/FP AWPs on the protected network", _awp_count(RURAL, True)
    ),
    "fap_connected": FactQuery(
        "ФАП и ФП с действующим каналом связи",
        "FAP/FP with an active channel",
        _rural_sites_connected,
    ),
}


def valid_fact_queries() -> str:
    """The valid fact-query keys, comma separated, for error messages."""
    return ", ".join(sorted(FACT_QUERIES))
