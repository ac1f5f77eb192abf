"""Read side of the status ledger for screens and the API: current states, outages, one
object's history, failovers, sites on backup and the ViPNet nodes' status.

Every function costs a bounded number of queries whatever the size of the region; lists are
paged. Objects are named by ledger kind (``site``, ``device``, ``channel``, ``vipnet_node``,
``workstation``) and natural key, as the ledger stores them.

Errors raised here::

    KonturError
    └── BadStatusQuery    a filter that cannot be used (unknown kind or state, bad period, …)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Engine, and_, case, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from cmdb.calendars import DEFAULT_THRESHOLDS, EXPIRED, VALID, expiry_state
from cmdb.choices import FailoverKind, ObjectKind, State
from cmdb.errors import KonturError
from cmdb.models import (
    Channel,
    Device,
    FailoverEvent,
    ObjectState,
    Site,
    StatusTransition,
    VipnetNode,
    Workstation,
)

#: How bad a state is, to summarize several vantages by the worst one.
SEVERITY: Final[dict[str, int]] = {"up": 0, "unknown": 1, "degraded": 2, "down": 3}
_MAX_TEXT = 255


class BadStatusQuery(KonturError):
    """A filter that cannot be used: ``parameter`` and a human ``reason`` (Russian)."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"{parameter}: {reason}")


def check_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in {k.value for k in ObjectKind}:
        valid = ", ".join(k.value for k in ObjectKind)
        raise BadStatusQuery("kind", f"недопустимый вид {kind!r}; допустимы: {valid}")
    return kind


def check_state(state: str | None) -> str | None:
    if state is not None and state not in {s.value for s in State}:
        valid = ", ".join(s.value for s in State)
        raise BadStatusQuery("state", f"недопустимое состояние {state!r}; допустимы: {valid}")
    return state


def check_text(value: str | None, parameter: str) -> str | None:
    """A text filter as given; the NUL character (which PostgreSQL refuses) is an error."""
    if value is not None and "\x00" in value:
        raise BadStatusQuery(parameter, "недопустимый символ NUL")
    return value


def _check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise BadStatusQuery("page", "номер страницы начинается с 1")
    if per_page < 1:
        raise BadStatusQuery("per_page", "размер страницы должен быть положительным")


@dataclass(frozen=True)
class VantageState:
    """The state of one object from one vantage point."""

    kind: str
    key: str
    vantage: str
    state: str
    since: dt.datetime
    last_seen_at: dt.datetime | None


def _vantage_state(r: Any) -> VantageState:
    return VantageState(
        r["object_kind"], r["object_key"], r["vantage"], r["state"], r["since"], r["last_seen_at"]
    )


@dataclass(frozen=True)
class StatePage:
    items: list[VantageState]
    total: int
    page: int
    per_page: int


def site_objects(engine: Engine, site: str) -> dict[str, set[str]]:
    """Ledger kind → natural keys of the objects at ``site`` (the site itself included)."""
    found: dict[str, set[str]] = {k.value: set() for k in ObjectKind}
    with engine.connect() as conn:
        site_id = conn.scalar(select(Site.id).where(Site.code == site))
        if site_id is None:
            return {}
        found["site"].add(site)
        devices = conn.execute(select(Device.id, Device.name).where(Device.site_id == site_id))
        device_ids = {}
        for ident, name in devices:
            device_ids[ident] = name
            found["device"].add(name)
        found["workstation"].update(
            conn.scalars(select(Workstation.hostname).where(Workstation.site_id == site_id))
        )
        found["channel"].update(
            conn.scalars(
                select(Channel.key).where(
                    or_(Channel.a_site_id == site_id, Channel.z_site_id == site_id)
                )
            )
        )
        node_ids = select(Workstation.vipnet_node_id).where(Workstation.site_id == site_id)
        found["vipnet_node"].update(
            conn.scalars(
                select(VipnetNode.vipnet_id).where(
                    or_(
                        VipnetNode.device_id.in_(list(device_ids) or [-1]),
                        VipnetNode.id.in_(node_ids),
                    )
                )
            )
        )
    return found


def _objects_condition(objects: dict[str, set[str]], kind_col: Any, key_col: Any) -> Any:
    parts = [
        and_(kind_col == kind, key_col.in_(sorted(keys))) for kind, keys in objects.items() if keys
    ]
    return or_(*parts) if parts else kind_col.is_(None)


def current_states(
    engine: Engine,
    *,
    kind: str | None = None,
    state: str | None = None,
    site: str | None = None,
    vantage: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> StatePage:
    """Current states per object and vantage, filtered; ordered by kind, key and vantage."""
    check_kind(kind)
    check_state(state)
    check_text(site, "site")
    check_text(vantage, "vantage")
    _check_paging(page, per_page)
    conditions: list[Any] = []
    if kind:
        conditions.append(ObjectState.object_kind == kind)
    if state:
        conditions.append(ObjectState.state == state)
    if vantage:
        conditions.append(ObjectState.vantage == vantage[:_MAX_TEXT])
    if site:
        objects = site_objects(engine, site[:_MAX_TEXT])
        conditions.append(
            _objects_condition(objects, ObjectState.object_kind, ObjectState.object_key)
        )
    with engine.connect() as conn:
        total = int(
            conn.scalar(select(func.count()).select_from(ObjectState).where(*conditions)) or 0
        )
        rows = conn.execute(
            select(ObjectState)
            .where(*conditions)
            .order_by(ObjectState.object_kind, ObjectState.object_key, ObjectState.vantage)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).mappings()
        items = [_vantage_state(r) for r in rows]
    return StatePage(items, total, page, per_page)


@dataclass(frozen=True)
class Outage:
    """An object some vantage sees down now: since when and from where."""

    kind: str
    key: str
    since: dt.datetime
    vantages: tuple[str, ...]


def outages(engine: Engine, *, limit: int = 200) -> tuple[list[Outage], int]:
    """Objects whose latest state is ``down`` from at least one vantage (longest first), and
    how many there are in all."""
    with engine.connect() as conn:
        down = ObjectState.state == State.DOWN.value
        total = int(
            conn.scalar(
                select(func.count()).select_from(
                    select(ObjectState.object_kind, ObjectState.object_key)
                    .where(down)
                    .group_by(ObjectState.object_kind, ObjectState.object_key)
                    .subquery()
                )
            )
            or 0
        )
        first = func.min(ObjectState.since).label("since")
        keys = conn.execute(
            select(ObjectState.object_kind, ObjectState.object_key, first)
            .where(down)
            .group_by(ObjectState.object_kind, ObjectState.object_key)
            .order_by(first, ObjectState.object_kind, ObjectState.object_key)
            .limit(limit)
        ).all()
        wanted = {(k, key) for k, key, _s in keys}
        vantages: dict[tuple[str, str], list[str]] = {}
        if wanted:
            for k, key, vantage in conn.execute(
                select(ObjectState.object_kind, ObjectState.object_key, ObjectState.vantage)
                .where(down, ObjectState.object_key.in_(sorted({key for _k, key in wanted})))
                .order_by(ObjectState.vantage)
            ):
                if (k, key) in wanted:
                    vantages.setdefault((k, key), []).append(vantage)
    items = [Outage(k, key, since, tuple(vantages.get((k, key), ()))) for k, key, since in keys]
    return items, total


def state_counts(engine: Engine) -> dict[str, int]:
    """Objects per worst state over their vantages (objects the ledger knows of)."""
    worst = func.max(
        case(*((ObjectState.state == s, n) for s, n in SEVERITY.items()), else_=1)
    ).label("worst")
    per_object = select(worst).group_by(ObjectState.object_kind, ObjectState.object_key).subquery()
    by_rank = {n: s for s, n in SEVERITY.items()}
    counts = dict.fromkeys(SEVERITY, 0)
    with engine.connect() as conn:
        for rank, count in conn.execute(
            select(per_object.c.worst, func.count()).group_by(per_object.c.worst)
        ):
            counts[by_rank.get(int(rank), "unknown")] += int(count)
    return counts


@dataclass(frozen=True)
class HistoryItem:
    vantage: str
    at: dt.datetime
    previous: str | None
    state: str
    reason: str | None
    source: str | None


@dataclass(frozen=True)
class ObjectStatus:
    kind: str
    key: str
    current: list[VantageState]
    history: list[HistoryItem]
    history_total: int


def object_status(
    engine: Engine, kind: str, key: str, *, vantage: str | None = None, limit: int = 100
) -> ObjectStatus:
    """One object's current state per vantage and its latest transitions (newest first)."""
    check_kind(kind)
    check_text(key, "key")
    check_text(vantage, "vantage")
    with engine.connect() as conn:
        cond = [ObjectState.object_kind == kind, ObjectState.object_key == key]
        tcond = [StatusTransition.object_kind == kind, StatusTransition.object_key == key]
        if vantage:
            cond.append(ObjectState.vantage == vantage)
            tcond.append(StatusTransition.vantage == vantage)
        current = [
            _vantage_state(r)
            for r in conn.execute(
                select(ObjectState).where(*cond).order_by(ObjectState.vantage)
            ).mappings()
        ]
        total = int(
            conn.scalar(select(func.count()).select_from(StatusTransition).where(*tcond)) or 0
        )
        history = [
            HistoryItem(r["vantage"], r["at"], r["previous"], r["state"], r["reason"], r["source"])
            for r in conn.execute(
                select(StatusTransition)
                .where(*tcond)
                .order_by(StatusTransition.at.desc(), StatusTransition.id.desc())
                .limit(limit)
            ).mappings()
        ]
    return ObjectStatus(kind, key, current, history, total)


@dataclass(frozen=True)
class Failover:
    site: str
    group: str | None
    vantage: str
    at: dt.datetime
    kind: str
    active_channel: str | None
    detail: str | None


@dataclass(frozen=True)
class FailoverPage:
    items: list[Failover]
    total: int
    page: int
    per_page: int


def _failover(r: Any) -> Failover:
    return Failover(
        r["site_key"], r["redundancy_group"], r["vantage"], r["at"], r["kind"],
        r["active_channel"], r["detail"],
    )  # fmt: skip


def failovers(
    engine: Engine,
    *,
    site: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> FailoverPage:
    """Failover events (newest first), of one site and/or within [since, until)."""
    check_text(site, "site")
    _check_paging(page, per_page)
    if since and until and until <= since:
        raise BadStatusQuery("until", "конец периода не позже его начала")
    conditions: list[ColumnElement[bool]] = []
    if site:
        conditions.append(FailoverEvent.site_key == site[:_MAX_TEXT])
    if since:
        conditions.append(FailoverEvent.at >= since)
    if until:
        conditions.append(FailoverEvent.at < until)
    with engine.connect() as conn:
        total = int(
            conn.scalar(select(func.count()).select_from(FailoverEvent).where(*conditions)) or 0
        )
        rows = conn.execute(
            select(FailoverEvent)
            .where(*conditions)
            .order_by(FailoverEvent.at.desc(), FailoverEvent.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).mappings()
        items = [_failover(r) for r in rows]
    return FailoverPage(items, total, page, per_page)


@dataclass
class SiteOnBackup:
    """A site (redundancy group) whose latest failover event from some vantage is «on backup»."""

    site: str
    group: str | None
    since: dt.datetime
    active_channel: str | None
    vantages: list[str] = field(default_factory=list)


def sites_on_backup(engine: Engine) -> list[SiteOnBackup]:
    """Sites on a backup channel now: per (site, group, vantage) the latest channel failover
    event is ``on_backup``; longest first."""
    channel_kinds = (FailoverKind.ON_BACKUP.value, FailoverKind.ON_PRIMARY.value)
    latest = (
        select(func.max(FailoverEvent.id).label("id"))
        .where(FailoverEvent.kind.in_(channel_kinds))
        .group_by(FailoverEvent.site_key, FailoverEvent.redundancy_group, FailoverEvent.vantage)
        .subquery()
    )
    found: dict[tuple[str, str | None], SiteOnBackup] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(FailoverEvent)
            .where(
                FailoverEvent.id.in_(select(latest.c.id)),
                FailoverEvent.kind == FailoverKind.ON_BACKUP.value,
            )
            .order_by(FailoverEvent.at, FailoverEvent.site_key, FailoverEvent.vantage)
        ).mappings()
        for r in rows:
            item = found.setdefault(
                (r["site_key"], r["redundancy_group"]),
                SiteOnBackup(r["site_key"], r["redundancy_group"], r["at"], r["active_channel"]),
            )
            item.vantages.append(r["vantage"])
            item.since = min(item.since, r["at"])
    return sorted(found.values(), key=lambda s: (s.since, s.site))


# --- ViPNet nodes ---------------------------------------------------------------------------------

#: Key-set validity filters of the crypto-node list.
KEY_FILTERS: Final = ("valid", "expiring", "expired", "none")


@dataclass(frozen=True)
class CryptoNode:
    vipnet_id: str
    name: str
    kind: str
    enabled: bool
    #: the worst state over the vantages; ``unknown`` when the ledger has not seen the node
    state: str
    vantages: dict[str, str]
    keys_valid_until: dt.date | None
    keys_state: str | None
    keys_days_left: int | None
    certificate_valid_until: dt.date | None
    certificate_state: str | None


@dataclass(frozen=True)
class CryptoNodePage:
    items: list[CryptoNode]
    total: int
    page: int
    per_page: int


def crypto_nodes(
    engine: Engine,
    today: dt.date,
    *,
    state: str | None = None,
    keys: str | None = None,
    q: str | None = None,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    page: int = 1,
    per_page: int = 50,
) -> CryptoNodePage:
    """ViPNet nodes with their worst ledger state and key/certificate validity on ``today``.

    ``state`` filters by the worst ledger state (``unknown`` includes nodes never seen);
    ``keys`` by key-set validity: ``valid``, ``expiring`` (within the largest threshold),
    ``expired`` or ``none`` (no date recorded).
    """
    check_state(state)
    check_text(q, "q")
    _check_paging(page, per_page)
    if keys is not None and keys not in KEY_FILTERS:
        raise BadStatusQuery(
            "keys", f"недопустимое значение {keys!r}; допустимы: {', '.join(KEY_FILTERS)}"
        )
    horizon = today + dt.timedelta(days=max(thresholds))
    rank = func.max(
        case(*((ObjectState.state == s, n) for s, n in SEVERITY.items()), else_=1)
    ).label("rank")
    ledger = (
        select(ObjectState.object_key.label("key"), rank)
        .where(ObjectState.object_kind == ObjectKind.VIPNET_NODE.value)
        .group_by(ObjectState.object_key)
        .subquery()
    )
    worst = func.coalesce(ledger.c.rank, SEVERITY["unknown"])
    conditions: list[Any] = []
    if state:
        conditions.append(worst == SEVERITY[state])
    until = VipnetNode.keys_valid_until
    if keys == "valid":
        conditions.append(until > horizon)
    elif keys == "expiring":
        conditions.append(and_(until >= today, until <= horizon))
    elif keys == "expired":
        conditions.append(until < today)
    elif keys == "none":
        conditions.append(until.is_(None))
    if q and q.strip():
        needle = q.strip().lower()[:_MAX_TEXT]
        conditions.append(
            or_(
                func.lower(VipnetNode.vipnet_id).contains(needle, autoescape=True),
                func.lower(VipnetNode.name).contains(needle, autoescape=True),
            )
        )
    base = select(VipnetNode, worst.label("worst")).outerjoin(
        ledger, ledger.c.key == VipnetNode.vipnet_id
    )
    by_rank = {n: s for s, n in SEVERITY.items()}
    with engine.connect() as conn:
        total = int(
            conn.scalar(select(func.count()).select_from(base.where(*conditions).subquery())) or 0
        )
        rows = (
            conn.execute(
                base.where(*conditions)
                .order_by(worst.desc(), VipnetNode.vipnet_id)
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
            .mappings()
            .all()
        )
        ids = [r["vipnet_id"] for r in rows]
        per_vantage: dict[str, dict[str, str]] = {}
        if ids:
            for key, vantage, st in conn.execute(
                select(ObjectState.object_key, ObjectState.vantage, ObjectState.state).where(
                    ObjectState.object_kind == ObjectKind.VIPNET_NODE.value,
                    ObjectState.object_key.in_(ids),
                )
            ):
                per_vantage.setdefault(key, {})[vantage] = st
    items: list[CryptoNode] = []
    for r in rows:
        keys_until = r["keys_valid_until"]
        cert_until = r["certificate_valid_until"]
        keys_state, days = (None, None)
        if keys_until is not None:
            keys_state, days = expiry_state(keys_until, today, thresholds)
        cert_state = expiry_state(cert_until, today, thresholds)[0] if cert_until else None
        items.append(
            CryptoNode(
                vipnet_id=r["vipnet_id"],
                name=r["name"],
                kind=r["kind"],
                enabled=bool(r["enabled"]),
                state=by_rank.get(int(r["worst"]), "unknown"),
                vantages=per_vantage.get(r["vipnet_id"], {}),
                keys_valid_until=keys_until,
                keys_state=keys_state,
                keys_days_left=days,
                certificate_valid_until=cert_until,
                certificate_state=cert_state,
            )
        )
    return CryptoNodePage(items, total, page, per_page)


__all__ = [
    "EXPIRED",
    "VALID",
    "BadStatusQuery",
    "CryptoNode",
    "Outage",
    "crypto_nodes",
    "current_states",
    "failovers",
    "object_status",
    "outages",
    "site_objects",
    "sites_on_backup",
    "state_counts",
]
