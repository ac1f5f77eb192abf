"""The helpdesk's view of a site: search by any identifier, and the site card (FAP card).

* :func:`search` finds sites by site name or code, district name, device name, AWP hostname or
  ViPNet ID (substring, case-insensitive, Cyrillic included) and returns them with their current
  state; FAP/FP first.
* :func:`card` gathers what a helpdesk operator needs on the phone with a feldsher: whether the
  site is reachable now and over which channel, each channel with its provider and contract,
  devices and ViPNet nodes with their current states and key validity, outages of the last 30
  days, maintenance windows, the responsible MO.
* :func:`site_states` gives the current display state of many sites at once (the map).

States come from the status ledger (``object_state``, ``status_transition``,
``failover_event``), combined over vantage points as ``docs/sla.md`` §3 says: an object is down
only when every vantage with data says down. Every function costs a bounded number of queries,
whatever the number of objects at a site.

Errors: :class:`cmdb.errors.NotFound` for an unknown site code; :class:`ValueError` for a naive
``now``.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    column,
    func,
    inspect,
    literal_column,
    or_,
    select,
    table,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter

from cmdb.calendars import EXPIRED, expiry_state
from cmdb.choices import FailoverKind, SiteKind, State
from cmdb.errors import NotFound
from cmdb.models import (
    Channel,
    Device,
    District,
    FailoverEvent,
    MaintenanceWindow,
    ObjectState,
    Organization,
    Site,
    StatusTransition,
    VipnetNode,
    Workstation,
)

#: How far back the card lists outages.
OUTAGE_WINDOW: Final = dt.timedelta(days=30)
#: How far ahead the card lists planned maintenance.
MAINTENANCE_AHEAD: Final = dt.timedelta(days=90)
#: Days before a key set or certificate expiry from which the card warns.
KEYS_WARN_DAYS: Final = 30
#: The most results a search returns.
MAX_LIMIT: Final = 100
#: Site kinds listed first in search results (the helpdesk mostly looks for these).
RURAL: Final = (SiteKind.FAP.value, SiteKind.FP.value)
#: Site kinds drawn on the map.
MAP_KINDS: Final = (
    SiteKind.FAP.value,
    SiteKind.FP.value,
    SiteKind.DC_PRIMARY.value,
    SiteKind.DC_RESERVE.value,
    SiteKind.DC_TEST.value,
)

UP, DOWN, DEGRADED, UNKNOWN = (s.value for s in State)

# Aliases built once: the statements using them then hit SQLAlchemy's compiled-statement cache.
_ORG = aliased(Organization, name="org")
_PROVIDER = aliased(Organization, name="provider")
_Z_SITE = aliased(Site, name="z_site")
_A_DEVICE = aliased(Device, name="a_device")
_WS_OF_NODE = aliased(Workstation, name="ws_of_node")
_DEVICE_OF_NODE = aliased(Device, name="device_of_node")
WORKING: Final = frozenset({UP, DEGRADED})

# Which channel carries the traffic of a site now.
LINK_PRIMARY: Final = "primary"
LINK_BACKUP: Final = "backup"
LINK_DOWN: Final = "down"
LINK_UNKNOWN: Final = "unknown"


# --- the data the card and the search carry -------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    """One site found by a search, with why it matched and its state now."""

    code: str
    name: str
    kind: str
    district: str | None
    organization: str | None
    #: What matched: site, district, device, workstation or vipnet_node, and the matched value.
    matched_kind: str
    matched: str
    state: str
    #: The display state: ``state``, or ``backup`` while a backup channel carries the traffic.
    display: str


@dataclass(frozen=True)
class ObjectNow:
    """The current state of one object combined over vantages, and per vantage."""

    state: str
    since: dt.datetime | None
    last_seen_at: dt.datetime | None
    vantages: Mapping[str, str] = field(default_factory=dict)


NO_DATA: Final = ObjectNow(UNKNOWN, None, None)


@dataclass(frozen=True)
class ChannelInfo:
    key: str
    name: str | None
    role: str
    status: str
    medium: str
    bandwidth_mbps: float | None
    provider_code: str | None
    provider: str | None
    contract_number: str | None
    contract_date: dt.date | None
    z_site: str
    redundancy_group: str | None
    #: The A-end device and interface (polled over SNMP) and the probed address (ICMP).
    device: str | None
    interface: str | None
    address: str | None
    now: ObjectNow
    #: True for the channel that carries the traffic now.
    carrying: bool


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    role: str
    vendor: str | None
    model: str | None
    platform: str
    mgmt_address: str | None
    snmp_profile: str | None
    status: str
    now: ObjectNow


@dataclass(frozen=True)
class NodeInfo:
    vipnet_id: str
    name: str
    kind: str
    enabled: bool
    #: The device or AWP the node runs on.
    holder: str | None
    keys_valid_until: dt.date | None
    certificate_valid_until: dt.date | None
    #: ``valid``, ``expiring_30`` or ``expired`` (None: no date), and the days left.
    keys_state: str | None
    keys_days: int | None
    certificate_state: str | None
    certificate_days: int | None
    now: ObjectNow


@dataclass(frozen=True)
class WorkstationInfo:
    hostname: str
    inventory_number: str | None
    os: str | None
    vipnet_id: str | None
    now: ObjectNow


@dataclass(frozen=True)
class Outage:
    """An interval when an object was down (every vantage with data said down)."""

    object_kind: str
    object_key: str
    start: dt.datetime
    #: None while it lasts.
    end: dt.datetime | None
    #: The outage began before the window the card looks at (``start`` is the window's start).
    clipped: bool
    duration_s: float


@dataclass(frozen=True)
class MaintenanceInfo:
    key: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    #: ``current``, ``upcoming`` or ``recent``.
    when: str
    objects: tuple[str, ...]


@dataclass(frozen=True)
class SiteCard:
    """Everything the FAP card shows."""

    code: str
    name: str
    kind: str
    status: str
    address: str | None
    latitude: float | None
    longitude: float | None
    district_code: str | None
    district: str | None
    organization_code: str | None
    organization: str | None
    organization_full_name: str | None
    organization_contact: str | None
    now: ObjectNow
    #: True: answers now (some vantage sees it up or degraded); False: down; None: no data.
    reachable: bool | None
    #: primary, backup, down or unknown: which channel carries the traffic now.
    link: str
    active_channel: str | None
    #: Since when the site is on the backup channel (the latest failover event), if it is.
    on_backup_since: dt.datetime | None
    channels: tuple[ChannelInfo, ...]
    devices: tuple[DeviceInfo, ...]
    nodes: tuple[NodeInfo, ...]
    workstations: tuple[WorkstationInfo, ...]
    outages: tuple[Outage, ...]
    last_failure: Outage | None
    maintenance: tuple[MaintenanceInfo, ...]
    in_maintenance: bool
    generated_at: dt.datetime


@dataclass(frozen=True)
class SiteState:
    """A site's state now for the map and lists."""

    code: str
    name: str
    kind: str
    latitude: float | None
    longitude: float | None
    state: str
    display: str


# --- state helpers --------------------------------------------------------------------------------


def combine(states: Iterable[str]) -> str:
    """The state of an object from its vantages' states (docs/sla.md §3)."""
    known = [s for s in states if s != UNKNOWN]
    if not known:
        return UNKNOWN
    if UP in known:
        return UP
    if DEGRADED in known:
        return DEGRADED
    return DOWN


def _now_of(rows: Sequence[Any]) -> ObjectNow:
    """Combine ``object_state`` rows (state, since, last_seen_at, vantage) of one object."""
    if not rows:
        return NO_DATA
    state = combine(r.state for r in rows)
    # Since when the combined state holds: the latest 'since' among the vantages agreeing.
    agreeing = [r.since for r in rows if r.state == state] or [r.since for r in rows]
    seen = [r.last_seen_at for r in rows if r.last_seen_at is not None]
    return ObjectNow(
        state=state,
        since=min(agreeing) if state == UP else max(agreeing),
        last_seen_at=max(seen) if seen else None,
        vantages={r.vantage: r.state for r in rows},
    )


def _states(
    conn: Connection, keys: Mapping[str, Iterable[str]]
) -> dict[tuple[str, str], ObjectNow]:
    """Current states of objects named per kind, in one query."""
    wanted = [(kind, sorted(set(names))) for kind, names in keys.items()]
    wanted = [(kind, names) for kind, names in wanted if names]
    if not wanted:
        return {}
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    query = _states_query(tuple(kind for kind, _ in wanted))
    params = {f"k{i}": names for i, (_, names) in enumerate(wanted)}
    for row in conn.execute(query, params):
        grouped[(row.object_kind, row.object_key)].append(row)
    return {key: _now_of(rows) for key, rows in grouped.items()}


# The card and the search run a dozen statements per request. Building a statement and its cache
# key costs SQLAlchemy about 0.3 ms of Python, several times what SQLite takes to run it, so
# the statements are built once (per shape) with bound parameters and reused.


def _keys_in(column: Any, name: str) -> Any:
    return column.in_(bindparam(name, expanding=True))


@cache
def _states_query(kinds: tuple[str, ...]) -> Select[Any]:
    """Object states of the keys bound as ``k0``, ``k1``… for each of ``kinds`` in turn."""
    return select(
        ObjectState.object_kind,
        ObjectState.object_key,
        ObjectState.vantage,
        ObjectState.state,
        ObjectState.since,
        ObjectState.last_seen_at,
    ).where(
        or_(
            *(
                and_(ObjectState.object_kind == kind, _keys_in(ObjectState.object_key, f"k{i}"))
                for i, kind in enumerate(kinds)
            )
        )
    )


def _latest_failovers(conn: Connection, sites: Sequence[str] | None) -> dict[str, Any]:
    """The latest on_backup/on_primary event per site (over all vantages)."""
    if sites is None:
        rows = conn.execute(_failovers_query(False)).all()
    else:
        rows = conn.execute(_failovers_query(True), {"sites": list(sites)}).all()
    return {row.site_key: row for row in rows}  # the highest id wins at equal instants


@cache
def _failovers_query(of_sites: bool) -> Select[Any]:
    """The latest switch event per site; of the sites bound as ``sites`` if ``of_sites``."""
    kinds = (FailoverKind.ON_BACKUP.value, FailoverKind.ON_PRIMARY.value)
    latest = select(
        FailoverEvent.site_key.label("site_key"), func.max(FailoverEvent.at).label("at")
    ).where(FailoverEvent.kind.in_(kinds))
    if of_sites:
        latest = latest.where(_keys_in(FailoverEvent.site_key, "sites"))
    sub = latest.group_by(FailoverEvent.site_key).subquery()
    return (
        select(FailoverEvent.site_key, FailoverEvent.kind, FailoverEvent.at,
               FailoverEvent.active_channel, FailoverEvent.id)
        .join(sub, and_(sub.c.site_key == FailoverEvent.site_key, sub.c.at == FailoverEvent.at))
        .where(FailoverEvent.kind.in_(kinds))
        .order_by(FailoverEvent.id)
    )  # fmt: skip


def display_state(state: str, on_backup: bool) -> str:
    """What a list or the map shows: ``backup`` while a backup channel carries the traffic."""
    if on_backup and state in WORKING:
        return LINK_BACKUP
    return state


def site_states(engine: Engine, kinds: Sequence[str] = MAP_KINDS) -> list[SiteState]:
    """Every active site of ``kinds`` with its state now (three queries)."""
    with engine.connect() as conn:
        sites = conn.execute(
            select(Site.code, Site.name, Site.kind, Site.latitude, Site.longitude)
            .where(Site.kind.in_(kinds), Site.status != "decommissioned")
            .order_by(Site.code)
        ).all()  # fmt: skip
        states: dict[str, list[Any]] = defaultdict(list)
        query = select(
            ObjectState.object_key,
            ObjectState.vantage,
            ObjectState.state,
            ObjectState.since,
            ObjectState.last_seen_at,
        ).where(ObjectState.object_kind == "site")
        for row in conn.execute(query):
            states[row.object_key].append(row)
        failovers = _latest_failovers(conn, None)
    out = []
    for site in sites:
        state = _now_of(states.get(site.code, ())).state
        event = failovers.get(site.code)
        on_backup = event is not None and event.kind == FailoverKind.ON_BACKUP.value
        out.append(
            SiteState(site.code, site.name, site.kind, site.latitude, site.longitude, state,
                      display_state(state, on_backup))
        )  # fmt: skip
    return out


# --- search ---------------------------------------------------------------------------------------


def _needle(q: str) -> str:
    return q.strip().lower()


#: Words that name a kind of site rather than a site: «ФАП хутор» means FAPs matching «хутор».
KIND_WORDS: dict[str, str] = {"фап": "fap", "фп": "fp", "fap": "fap", "fp": "fp"}


def _kind_words(needle: str) -> tuple[str, set[str]]:
    """The needle without its kind words, and the site kinds they name."""
    words = needle.split()
    kinds = {KIND_WORDS[w] for w in words if w in KIND_WORDS}
    return " ".join(w for w in words if w not in KIND_WORDS), kinds


def search(engine: Engine, q: str, limit: int = 20) -> list[SearchHit]:
    """Sites matching ``q`` in any identifier (a bounded number of queries; FAP/FP first)."""
    needle = _needle(q)
    if not needle or "\x00" in needle:  # PostgreSQL text cannot hold NUL: nothing matches it
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    needle, site_kinds = _kind_words(needle)
    # A ViPNet ID is written 0x07c40002, 07C40002 or 07c4.0002: match on the hex digits alone.
    hex_needle = needle.removeprefix("0x").replace(".", "").replace(" ", "")

    native = engine.dialect.name == "sqlite"
    ascii_needle = needle.isascii()
    hexy = ascii_needle and bool(hex_needle) and all(c in "0123456789abcdefx" for c in hex_needle)
    # SQLite's trigram indexes (migration 0008) need three characters or more. The hostname
    # index answers LIKE without an escape character: wildcards typed by the user take the scan.
    # The site index answers needles that are not ASCII (SQLite's LIKE folds ASCII itself).
    indexed = native and len(needle) >= 3 and _has_search_indexes(engine)
    trigrams = indexed and ascii_needle and not any(c in needle for c in "%_")
    site_trigrams = indexed and not ascii_needle
    queries = _search_queries(
        native, ascii_needle, hexy, not needle, limit * 4, trigrams, site_trigrams
    )
    params: dict[str, Any] = {
        "pat": _pattern(needle),
        "hexpat": _pattern(hex_needle),
        "plainpat": f"%{needle}%",
        "phrase": '"' + needle.replace('"', '""') + '"',
    }
    if not needle:  # only kind words («ФАП»): the sites of those kinds, by code
        params["kinds"] = sorted(site_kinds)
    matches: dict[int, tuple[str, str]] = {}
    with engine.connect() as conn:
        for kind, query in queries:
            # Enough rows to fill the page with distinct sites in the common cases.
            for site_id, value in conn.execute(query, params):
                if site_id is not None and site_id not in matches:
                    matches[site_id] = (kind, value)
        if not matches:
            return []
        found: dict[str, Any] = {"ids": list(matches)}
        if site_kinds:
            found["kinds"] = sorted(site_kinds)
        rows = conn.execute(_search_sites_query(bool(site_kinds)), found).all()
        exact = needle

        def rank(row: Any) -> tuple[int, int, str]:
            hit_exact = row.code.lower() == exact or matches[row.id][1].lower() == exact
            return (0 if hit_exact else 1, 0 if row.kind in RURAL else 1, row.code)

        rows = sorted(rows, key=rank)[:limit]
        codes = [r.code for r in rows]
        states = _states(conn, {"site": codes})
        failovers = _latest_failovers(conn, codes)
    hits = []
    for row in rows:
        state = states.get(("site", row.code), NO_DATA).state
        event = failovers.get(row.code)
        on_backup = event is not None and event.kind == FailoverKind.ON_BACKUP.value
        matched_kind, matched = matches[row.id]
        hits.append(
            SearchHit(row.code, row.name, row.kind, row.district, row.organization, matched_kind,
                      matched, state, display_state(state, on_backup))
        )  # fmt: skip
    return hits


# --- the card -------------------------------------------------------------------------------------


def _pattern(text: str) -> str:
    """A LIKE pattern (escape character ``/``) that finds ``text`` anywhere."""
    return "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


#: SQLite's FTS5 trigram indexes (migration 0008), when the database has them.
_HOSTNAME_FTS = table("workstation_hostname_fts", column("hostname"))
_SITE_FTS = table("site_name_fts", column("rowid"))
_search_indexes: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def _has_search_indexes(engine: Engine) -> bool:
    """Whether ``engine``'s database has the trigram indexes (looked up once per engine)."""
    found = _search_indexes.get(engine)
    if found is None:
        tables = set(inspect(engine).get_table_names())
        found = {_HOSTNAME_FTS.name, _SITE_FTS.name} <= tables
        _search_indexes[engine] = found
    return found


@lru_cache(maxsize=64)
def _search_queries(  # noqa: PLR0917 - the shape of a needle, one flag each
    native: bool,
    ascii_needle: bool,
    hexy: bool,
    kinds_only: bool,
    per_kind: int,
    trigrams: bool = False,
    site_trigrams: bool = False,
) -> tuple[tuple[str, Select[Any]], ...]:
    """The statements of :func:`search` for one shape of needle, built once (bound: ``pat``,
    ``hexpat``, ``plainpat`` (unescaped, for the hostname index when ``trigrams``), ``phrase``
    (an FTS5 string, for the site index when ``site_trigrams``), and ``kinds`` when
    ``kinds_only``); each returns (site id, matched value)."""
    if kinds_only:
        by_kind = select(Site.id, Site.code).where(_keys_in(Site.kind, "kinds"))
        return (("site", by_kind.order_by(Site.code).limit(per_kind)),)

    def like(column: Any, param: str = "pat") -> Any:
        if native and ascii_needle:
            # SQLite's own LIKE folds ASCII case in C; lower() there is a Python function
            # (for Cyrillic, cmdb.db), too slow to scan 30,000 hostnames with on every search.
            return column.like(bindparam(param), escape="/")
        return func.lower(column).like(bindparam(param), escape="/")

    ws_site, dev_site = _WS_OF_NODE, _DEVICE_OF_NODE
    # (site id, matched value), per identifier kind, each bounded.
    queries: list[tuple[str, Select[Any]]] = [
        (
            "site",
            select(Site.id, Site.code).where(
                Site.id.in_(
                    select(_SITE_FTS.c.rowid).where(
                        literal_column(_SITE_FTS.name).op("MATCH")(bindparam("phrase"))
                    )
                )
                if site_trigrams
                else or_(like(Site.code), like(Site.name))
            ),
        ),
        (
            "district",
            select(Site.id, District.name)
            .join(District, District.id == Site.district_id)
            # the districts first (a few dozen), then their sites: no per-site lower()
            .where(Site.district_id.in_(select(District.id).where(like(District.name)))),
        ),
    ]
    # Hostnames, device names and ViPNet IDs are Latin identifiers: a needle with other letters
    # (a village or a district typed in Cyrillic) is not looked for among them.
    if ascii_needle:
        queries += [
            ("device", select(Device.site_id, Device.name).where(like(Device.name))),
            (
                "workstation",
                # the matching hostnames from the hostname index alone, then their rows
                select(Workstation.site_id, Workstation.hostname).where(
                    Workstation.hostname.in_(
                        (
                            select(_HOSTNAME_FTS.c.hostname).where(
                                _HOSTNAME_FTS.c.hostname.like(bindparam("plainpat"))
                            )
                            if trigrams
                            else select(Workstation.hostname).where(like(Workstation.hostname))
                        )
                        .limit(per_kind)
                        .scalar_subquery()
                    )
                ),
            ),
        ]
    if hexy:
        # A ViPNet ID is written 0x07c40002, 07C40002 or 07c4.0002: matched on the hex digits.
        queries.append(
            (
                "vipnet_node",
                select(func.coalesce(dev_site.site_id, ws_site.site_id), VipnetNode.vipnet_id)
                .outerjoin(dev_site, dev_site.id == VipnetNode.device_id)
                .outerjoin(ws_site, ws_site.vipnet_node_id == VipnetNode.id)
                .where(like(VipnetNode.vipnet_id, "hexpat")),
            )
        )
    return tuple((kind, query.limit(per_kind)) for kind, query in queries)


@cache
def _search_sites_query(of_kinds: bool) -> Select[Any]:
    """The found sites (bound: ``ids``; ``kinds`` when ``of_kinds``) with district and MO."""
    org = _ORG
    query = (
        select(Site.id, Site.code, Site.name, Site.kind, District.name.label("district"),
               org.short_name.label("organization"))
        .outerjoin(District, District.id == Site.district_id)
        .outerjoin(org, org.id == Site.organization_id)
        .where(_keys_in(Site.id, "ids"))
    )  # fmt: skip
    return query.where(_keys_in(Site.kind, "kinds")) if of_kinds else query


def _aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def down_intervals(
    events: Sequence[tuple[dt.datetime, str, str]],
    before: Mapping[str, str],
    start: dt.datetime,
    end: dt.datetime,
) -> list[tuple[dt.datetime, dt.datetime | None, bool]]:
    """Intervals in [start, end) when the combined state was down (pure).

    ``events``: (at, vantage, state) inside [start, end), in time order; ``before``: each
    vantage's state at ``start``. Returns (from, to or None while it lasts, began before start).
    """
    current = dict(before)
    out: list[tuple[dt.datetime, dt.datetime | None, bool]] = []
    opened: dt.datetime | None = start if combine(current.values()) == DOWN else None
    clipped = opened is not None
    index = 0
    while index < len(events):
        at = events[index][0]
        # every change at one instant is applied before judging (no zero-length outages)
        while index < len(events) and events[index][0] == at:
            _, vantage, state = events[index]
            current[vantage] = state
            index += 1
        down = combine(current.values()) == DOWN
        if down and opened is None:
            opened, clipped = at, False
        elif not down and opened is not None:
            if at > opened:
                out.append((opened, at, clipped))
            opened = None
    if opened is not None:
        out.append((opened, None, clipped))
    return out


def _outages(
    conn: Connection, objects: Sequence[tuple[str, str]], start: dt.datetime, end: dt.datetime
) -> tuple[list[Outage], Any]:
    """Outages of ``objects`` in [start, end), newest first, and the latest down transition
    before ``start`` (for 'last failure' when the window has none). Three queries."""
    if not objects:
        return [], None
    keys: dict[str, list[str]] = defaultdict(list)
    for kind, key in objects:
        keys[kind].append(key)
    params: dict[str, Any] = {f"k{i}": names for i, names in enumerate(keys.values())}
    params.update(start=start, end=end)
    inside_q, before_q, earlier_q = _outage_queries(tuple(keys))
    inside = conn.execute(inside_q, params).all()
    before_rows = conn.execute(before_q, params).all()
    earlier_failure = conn.execute(earlier_q, params).first()
    before: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for row in before_rows:
        before[(row.object_kind, row.object_key)][row.vantage] = row.state
    events: dict[tuple[str, str], list[tuple[dt.datetime, str, str]]] = defaultdict(list)
    for event in inside:
        events[(event.object_kind, event.object_key)].append((event.at, event.vantage, event.state))
    outages = []
    for kind, key in objects:
        for begun, ended, clipped in down_intervals(
            events.get((kind, key), []), before.get((kind, key), {}), start, end
        ):
            duration = ((ended or end) - begun).total_seconds()
            outages.append(Outage(kind, key, begun, ended, clipped, duration))
    outages.sort(key=lambda o: o.start, reverse=True)
    return outages, earlier_failure


@cache
def _outage_queries(kinds: tuple[str, ...]) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The three statements of :func:`_outages` for objects of ``kinds`` (keys bound as ``k0``,
    ``k1``…; the window as ``start`` and ``end``)."""
    T = StatusTransition
    # per kind, not a row-value IN: SQLite then searches the (kind, key, vantage, at) index
    which = or_(*(and_(T.object_kind == kind, _keys_in(T.object_key, f"k{i}"))
                  for i, kind in enumerate(kinds)))  # fmt: skip
    start: BindParameter[dt.datetime] = bindparam("start")
    end: BindParameter[dt.datetime] = bindparam("end")
    inside = (
        select(T.object_kind, T.object_key, T.vantage, T.at, T.state)
        .where(which, T.at >= start, T.at < end)
        .order_by(T.at, T.id)
    )  # fmt: skip
    last_before = (
        select(T.object_kind, T.object_key, T.vantage, func.max(T.at).label("at"))
        .where(which, T.at < start)
        .group_by(T.object_kind, T.object_key, T.vantage)
        .subquery()
    )
    before = select(T.object_kind, T.object_key, T.vantage, T.state).join(
        last_before,
        and_(
            last_before.c.object_kind == T.object_kind,
            last_before.c.object_key == T.object_key,
            last_before.c.vantage == T.vantage,
            last_before.c.at == T.at,
        ),
    )
    earlier = (
        select(T.object_kind, T.object_key, T.at)
        .where(which, T.at < start, T.state == DOWN)
        .order_by(T.at.desc())
        .limit(1)
    )
    return inside, before, earlier


def _keys(until: dt.date | None, today: dt.date) -> tuple[str | None, int | None]:
    if until is None:
        return None, None
    return expiry_state(until, today, (KEYS_WARN_DAYS,))


def _link(
    channels: Sequence[tuple[Any, ObjectNow]], site_now: ObjectNow, failover: Any
) -> tuple[str, str | None]:
    """Which channel carries the traffic: (primary|backup|down|unknown, channel key)."""
    primaries = [(c, n) for c, n in channels if c.role == "primary"]
    backups = [(c, n) for c, n in channels if c.role == "backup"]
    for ch, now in primaries:
        if now.state in WORKING:
            return LINK_PRIMARY, ch.key
    working_backups = [ch.key for ch, now in backups if now.state in WORKING]
    on_backup = failover is not None and failover.kind == FailoverKind.ON_BACKUP.value
    if on_backup and site_now.state != DOWN:
        active = failover.active_channel
        if active in working_backups or not working_backups:
            return LINK_BACKUP, active
    if working_backups:
        return LINK_BACKUP, working_backups[0]
    states = [now.state for _, now in channels]
    if site_now.state == DOWN or (states and all(s == DOWN for s in states)):
        return LINK_DOWN, None
    if site_now.state in WORKING and not channels:
        return LINK_PRIMARY, None
    return LINK_UNKNOWN, None


@dataclass(frozen=True)
class _CardQueries:
    site: Select[Any]
    channels: Select[Any]
    devices: Select[Any]
    workstations: Select[Any]
    nodes: Select[Any]
    windows: Select[Any]


@cache
def _card_queries() -> _CardQueries:
    """The card's own statements, built once (bound: code, site_id, device_ids, node_ids, since,
    horizon)."""
    org, provider, z_site, a_dev = _ORG, _PROVIDER, _Z_SITE, _A_DEVICE
    site_id: BindParameter[int] = bindparam("site_id")
    return _CardQueries(
        site=select(Site.id, Site.code, Site.name, Site.kind, Site.status, Site.address,
                    Site.latitude, Site.longitude, District.code.label("district_code"),
                    District.name.label("district"),
                    org.code.label("org_code"), org.short_name.label("org_name"),
                    org.full_name.label("org_full"), org.contact.label("org_contact"))
        .outerjoin(District, District.id == Site.district_id)
        .outerjoin(org, org.id == Site.organization_id)
        .where(Site.code == bindparam("code")),
        channels=select(Channel.key, Channel.name, Channel.role, Channel.status, Channel.medium,
                        Channel.bandwidth_mbps, Channel.contract_number, Channel.contract_date,
                        Channel.redundancy_group, Channel.a_address, Channel.z_address,
                        Channel.a_interface, a_dev.name.label("a_device"),
                        provider.code.label("provider_code"),
                        provider.short_name.label("provider_name"), z_site.code.label("z_site"))
        .outerjoin(provider, provider.id == Channel.provider_id)
        .join(z_site, z_site.id == Channel.z_site_id)
        .outerjoin(a_dev, a_dev.id == Channel.a_device_id)
        .where(Channel.a_site_id == site_id)
        .order_by(Channel.role.desc(), Channel.key),  # primary before backup
        devices=select(Device.id, Device.name, Device.role, Device.vendor, Device.model,
                       Device.platform, Device.mgmt_address, Device.snmp_profile, Device.status)
        .where(Device.site_id == site_id)
        .order_by(Device.name),
        workstations=select(Workstation.hostname, Workstation.inventory_number, Workstation.os,
                            Workstation.vipnet_node_id)
        .where(Workstation.site_id == site_id)
        .order_by(Workstation.hostname),
        nodes=select(VipnetNode.id, VipnetNode.vipnet_id, VipnetNode.name, VipnetNode.kind,
                     VipnetNode.enabled, VipnetNode.device_id, VipnetNode.keys_valid_until,
                     VipnetNode.certificate_valid_until)
        .where(or_(_keys_in(VipnetNode.device_id, "device_ids"),
                   _keys_in(VipnetNode.id, "node_ids")))
        .order_by(VipnetNode.vipnet_id),
        windows=select(MaintenanceWindow.key, MaintenanceWindow.objects,
                       MaintenanceWindow.starts_at, MaintenanceWindow.ends_at,
                       MaintenanceWindow.reason)
        .where(MaintenanceWindow.ends_at > bindparam("since"),
               MaintenanceWindow.starts_at < bindparam("horizon"))
        .order_by(MaintenanceWindow.starts_at),
    )  # fmt: skip


def card(engine: Engine, site_code: str, now: dt.datetime, zone: dt.tzinfo) -> SiteCard:
    """The card of the site ``site_code`` as of ``now`` (dates for key validity in ``zone``)."""
    now = _aware(now)
    if "\x00" in site_code:  # no code holds NUL (PostgreSQL text cannot)
        raise NotFound("site", site_code)
    today = now.astimezone(zone).date()
    q = _card_queries()
    with engine.connect() as conn:
        site = conn.execute(q.site, {"code": site_code}).first()
        if site is None:
            raise NotFound("site", site_code)
        s = site
        channels = conn.execute(q.channels, {"site_id": s.id}).all()
        devices = conn.execute(q.devices, {"site_id": s.id}).all()
        workstations = conn.execute(q.workstations, {"site_id": s.id}).all()
        device_names = {d.id: d.name for d in devices}
        ws_by_node = {w.vipnet_node_id: w.hostname for w in workstations if w.vipnet_node_id}
        node_ids = set(ws_by_node)
        nodes = conn.execute(
            q.nodes, {"device_ids": list(device_names), "node_ids": list(node_ids)}
        ).all()
        wanted = {
            "site": [s.code],
            "channel": [c.key for c in channels],
            "device": [d.name for d in devices],
            "vipnet_node": [n.vipnet_id for n in nodes],
            "workstation": [w.hostname for w in workstations],
        }
        states = _states(conn, wanted)
        failover = _latest_failovers(conn, [s.code]).get(s.code)
        since = now - OUTAGE_WINDOW
        watched = [("site", s.code)] + [("channel", c.key) for c in channels]
        outages, earlier = _outages(conn, watched, since, now)
        windows = conn.execute(
            q.windows, {"since": since, "horizon": now + MAINTENANCE_AHEAD}
        ).all()

    def st(kind: str, key: str) -> ObjectNow:
        return states.get((kind, key), NO_DATA)

    site_now = st("site", s.code)
    channel_states = [(c, st("channel", c.key)) for c in channels]
    if site_now.state == UNKNOWN and any(n.state != UNKNOWN for _, n in channel_states):
        site_now = ObjectNow(_from_channels(channel_states), None, None)
    link, active = _link(channel_states, site_now, failover)
    on_backup_since = (
        failover.at if link == LINK_BACKUP and failover is not None
        and failover.kind == FailoverKind.ON_BACKUP.value else None
    )  # fmt: skip
    reachable: bool | None
    if site_now.state in WORKING:
        reachable = True
    elif site_now.state == DOWN:
        reachable = False
    else:
        reachable = None

    channel_infos = tuple(
        ChannelInfo(
            key=c.key, name=c.name, role=c.role, status=c.status, medium=c.medium,
            bandwidth_mbps=float(c.bandwidth_mbps) if isinstance(c.bandwidth_mbps, Decimal)
            else c.bandwidth_mbps,
            provider_code=c.provider_code, provider=c.provider_name,
            contract_number=c.contract_number, contract_date=c.contract_date, z_site=c.z_site,
            redundancy_group=c.redundancy_group, device=c.a_device, interface=c.a_interface,
            address=c.a_address or c.z_address,
            now=n, carrying=c.key == active,
        )
        for c, n in channel_states
    )  # fmt: skip
    device_infos = tuple(
        DeviceInfo(d.name, d.role, d.vendor, d.model, d.platform, d.mgmt_address,
                   d.snmp_profile, d.status, st("device", d.name))
        for d in devices
    )  # fmt: skip
    node_infos = []
    for n in nodes:
        keys_state, keys_days = _keys(n.keys_valid_until, today)
        cert_state, cert_days = _keys(n.certificate_valid_until, today)
        holder = device_names.get(n.device_id) if n.device_id else ws_by_node.get(n.id)
        node_infos.append(
            NodeInfo(n.vipnet_id, n.name, n.kind, n.enabled, holder, n.keys_valid_until,
                     n.certificate_valid_until, keys_state, keys_days, cert_state, cert_days,
                     st("vipnet_node", n.vipnet_id))
        )  # fmt: skip
    node_by_id = {n.id: n.vipnet_id for n in nodes}
    ws_infos = tuple(
        WorkstationInfo(w.hostname, w.inventory_number, w.os,
                        node_by_id.get(w.vipnet_node_id) if w.vipnet_node_id else None,
                        st("workstation", w.hostname))
        for w in workstations
    )  # fmt: skip

    last_failure = next((o for o in outages if o.object_kind == "site"), None) or next(
        iter(outages), None
    )
    if last_failure is None and earlier is not None:
        last_failure = Outage(earlier.object_kind, earlier.object_key, earlier.at, None, True, 0.0)
        # its end is not known without more history; the card shows only when it began
    mine = {
        ("site", s.code),
        *(("channel", c.key) for c in channels),
        *(("device", d.name) for d in devices),
        *(("workstation", w.hostname) for w in workstations),
        *(("vipnet_node", n.vipnet_id) for n in nodes),
    }
    maintenance = []
    for w in windows:
        refs = [
            (str(ref.get("kind", "")), str(ref.get("key", "")))
            for ref in (w.objects or ())
            if isinstance(ref, dict)
        ]
        hit = [f"{kind}:{key}" for kind, key in refs if (kind, key) in mine]
        if not hit:
            continue
        when = "current" if w.starts_at <= now < w.ends_at else (
            "upcoming" if w.starts_at > now else "recent"
        )  # fmt: skip
        maintenance.append(MaintenanceInfo(w.key, w.starts_at, w.ends_at, w.reason, when,
                                           tuple(hit)))  # fmt: skip
    order = {"current": 0, "upcoming": 1, "recent": 2}
    maintenance.sort(key=lambda m: (order[m.when], m.starts_at))
    return SiteCard(
        code=s.code, name=s.name, kind=s.kind, status=s.status, address=s.address,
        latitude=s.latitude, longitude=s.longitude,
        district_code=site.district_code, district=site.district,
        organization_code=site.org_code, organization=site.org_name,
        organization_full_name=site.org_full, organization_contact=site.org_contact,
        now=site_now, reachable=reachable, link=link, active_channel=active,
        on_backup_since=on_backup_since,
        channels=channel_infos, devices=device_infos, nodes=tuple(node_infos),
        workstations=ws_infos, outages=tuple(outages), last_failure=last_failure,
        maintenance=tuple(maintenance),
        in_maintenance=any(m.when == "current" for m in maintenance),
        generated_at=now,
    )  # fmt: skip


def _from_channels(channels: Sequence[tuple[Any, ObjectNow]]) -> str:
    """A site's state from its channels when the ledger has no site row (collector's rule)."""
    states = {c.key: n.state for c, n in channels}
    if any(states[c.key] == UP for c, _ in channels if c.role == "primary"):
        return UP
    if any(s in WORKING for s in states.values()):
        return DEGRADED
    if states and all(s == DOWN for s in states.values()):
        return DOWN
    return UNKNOWN


def keys_expired(node: NodeInfo) -> bool:
    """True when the node's key set or certificate has expired."""
    return EXPIRED in (node.keys_state, node.certificate_state)
