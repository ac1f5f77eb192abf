"""Prometheus metrics of the collector: states from the ledger, CMDB context, poll statistics.

``LedgerCollector`` is a custom collector: every scrape yields fresh metric families built from
the ledger's current states (``kontur_channel_up``, ``kontur_channel_on_backup``,
``kontur_device_up``, ``kontur_vipnet_node_up``, ``kontur_site_state``) and when each current
state began (``kontur_*_state_since_timestamp_seconds``, the ledger's own stamp: the first poll
that saw the new state). Up gauges are 1 for up or degraded, 0 for down, and absent while the
state is unknown: a gap must look like a gap, not like an outage or like health.

It also exports CMDB context that alert rules and dashboards join on, read once per finished
cycle (lazily, by the next scrape, in the scrape's thread, never on the event loop):

- ``kontur_site_info{site, site_name, site_kind, district, district_name}`` (1 per site);
- ``kontur_vipnet_node_info{vipnet_id, name, site, district, district_name}`` for the nodes
  whose state is known;
- expiry dates of the calendar (:func:`cmdb.calendars.expiries`: the newest attestation per
  attested object, key sets and certificates of enabled ViPNet nodes) as the Unix time the item
  stops being valid (the start of the day after its last valid day, in the region's zone):
  ``kontur_attestation_expiry_timestamp_seconds``,
  ``kontur_vipnet_keyset_expiry_timestamp_seconds``,
  ``kontur_vipnet_certificate_expiry_timestamp_seconds``, one series per item within
  ``expiry_horizon_days`` (or already expired), and ``kontur_expiry_items{kind, state}``
  counting every item by its calendar state. The horizon keeps a region of 30,000 ViPNet
  clients from exporting 60,000 series of dates years away.

``CollectorMetrics`` keeps the poll counters and histograms and listens to finished cycles. Both
register in an injected registry; nothing is global.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter as TallyCounter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, StateSetMetricFamily
from prometheus_client.registry import Collector as PromCollector
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from cmdb.calendars import DEFAULT_THRESHOLDS, ExpiryKind, expiries, expiry_states
from cmdb.choices import State
from cmdb.models import (
    Attestation,
    Device,
    District,
    Organization,
    Region,
    Site,
    VipnetNode,
    Workstation,
)
from collectors.runner import Collector, CycleReport

logger = logging.getLogger(__name__)

_UP = {State.UP: 1.0, State.DEGRADED: 1.0, State.DOWN: 0.0}
DEFAULT_ZONE = "Europe/Moscow"
#: Items expiring further ahead than this are only counted, not exported one by one.
DEFAULT_EXPIRY_HORIZON_DAYS = max(DEFAULT_THRESHOLDS)
#: Metric family per expiry kind.
EXPIRY_METRICS: Mapping[ExpiryKind, tuple[str, str]] = {
    ExpiryKind.ATTESTATION: (
        "kontur_attestation_expiry_timestamp_seconds",
        "When the newest attestation of an object stops being valid (Unix time).",
    ),
    ExpiryKind.VIPNET_KEYS: (
        "kontur_vipnet_keyset_expiry_timestamp_seconds",
        "When the key set of an enabled ViPNet node stops being valid (Unix time).",
    ),
    ExpiryKind.VIPNET_CERTIFICATE: (
        "kontur_vipnet_certificate_expiry_timestamp_seconds",
        "When the certificate of an enabled ViPNet node stops being valid (Unix time).",
    ),
}
_CHUNK = 500


@dataclass(frozen=True)
class SiteInfo:
    """A site and its district, as labels."""

    code: str
    name: str
    kind: str
    district: str
    district_name: str


@dataclass(frozen=True)
class NodeInfo:
    """A ViPNet node and the site it stands at ("" when neither its device nor AWP says)."""

    vipnet_id: str
    name: str
    kind: str
    site: str


@dataclass(frozen=True)
class ExpiryRow:
    """One exported expiry: the calendar item, when it stops being valid, and where it is."""

    kind: ExpiryKind
    key: str
    name: str
    #: the moment the item stops being valid (Unix time)
    expires_at: float
    #: attestation scope or ViPNet node kind
    detail: str
    site: str
    district: str
    district_name: str


@dataclass(frozen=True)
class CmdbSnapshot:
    """What the metrics need from the CMDB, read once per cycle."""

    zone: ZoneInfo
    sites: Mapping[str, SiteInfo]
    #: the nodes asked about and those with an exported expiry
    nodes: Mapping[str, NodeInfo]
    expiries: tuple[ExpiryRow, ...]
    #: (kind, state) → items in that calendar state
    expiry_counts: Mapping[tuple[str, str], int]
    today: dt.date


def _region_zone(session: Session) -> ZoneInfo:
    names = sorted(set(session.scalars(select(Region.timezone))))
    if len(names) > 1:
        logger.warning("several regions with different zones %s: using %s", names, names[0])
    try:
        return ZoneInfo(names[0] if names else DEFAULT_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown region time zone %r: using %s", names[0], DEFAULT_ZONE)
        return ZoneInfo(DEFAULT_ZONE)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _nodes(session: Session, vipnet_ids: Iterable[str]) -> dict[str, NodeInfo]:
    """The ViPNet nodes asked for, each at the site of its device, else of its AWP."""
    dev_site, ws_site = aliased(Site), aliased(Site)
    out: dict[str, NodeInfo] = {}
    for chunk in _chunks(sorted(set(vipnet_ids))):
        rows = session.execute(
            select(
                VipnetNode.vipnet_id, VipnetNode.name, VipnetNode.kind, dev_site.code,
                ws_site.code,
            )
            .outerjoin(Device, Device.id == VipnetNode.device_id)
            .outerjoin(dev_site, dev_site.id == Device.site_id)
            .outerjoin(Workstation, Workstation.vipnet_node_id == VipnetNode.id)
            .outerjoin(ws_site, ws_site.id == Workstation.site_id)
            .where(VipnetNode.vipnet_id.in_(chunk))
            .order_by(VipnetNode.vipnet_id, ws_site.code)
        )  # fmt: skip
        for vipnet_id, name, kind, by_device, by_workstation in rows:
            if vipnet_id not in out:  # a node shared by several AWPs: the first site by code
                out[vipnet_id] = NodeInfo(vipnet_id, name, kind, by_device or by_workstation or "")
    return out


def load_snapshot(
    engine: Engine,
    now: dt.datetime,
    *,
    node_ids: Iterable[str] = (),
    zone: ZoneInfo | None = None,
    horizon_days: int = DEFAULT_EXPIRY_HORIZON_DAYS,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
) -> CmdbSnapshot:
    """Read sites, the nodes in ``node_ids`` and the expiry calendar on ``now``'s local date.

    ``zone``: the region's zone for «today» and for the end of a last valid day (default: the
    zone of the region in the CMDB, else Europe/Moscow).
    """
    with Session(engine) as session:
        zone = zone or _region_zone(session)
        org_district = aliased(District)
        sites: dict[str, SiteInfo] = {}
        for code, name, kind, d_code, d_name, o_code, o_name in session.execute(
            select(
                Site.code, Site.name, Site.kind, District.code, District.name,
                org_district.code, org_district.name,
            )
            .outerjoin(District, District.id == Site.district_id)
            .outerjoin(Organization, Organization.id == Site.organization_id)
            .outerjoin(org_district, org_district.id == Organization.district_id)
        ):  # fmt: skip
            sites[code] = SiteInfo(code, name, kind, d_code or o_code or "", d_name or o_name or "")
        attestation_sites: dict[str, str] = {}
        org_districts: dict[str, tuple[str, str]] = {}
        scopes: dict[str, str] = {}
        for number, scope, site_code, d_code, d_name in session.execute(
            select(Attestation.number, Attestation.scope, Site.code, District.code, District.name)
            .outerjoin(Site, Site.id == Attestation.site_id)
            .outerjoin(Organization, Organization.id == Attestation.organization_id)
            .outerjoin(District, District.id == Organization.district_id)
        ):
            attestation_sites[number] = site_code or ""
            org_districts[number] = (d_code or "", d_name or "")
            scopes[number] = scope
        today = now.astimezone(zone).date()
        items = expiries(engine, today, thresholds)
        expiring = [i for i in items if i.days_left <= horizon_days]
        node_ids = set(node_ids) | {i.key for i in expiring if i.kind is not ExpiryKind.ATTESTATION}
        nodes = _nodes(session, node_ids)
    rows = []
    for item in expiring:
        if item.kind is ExpiryKind.ATTESTATION:
            site = attestation_sites.get(item.key, "")
            detail = scopes.get(item.key, "")
        else:
            node = nodes.get(item.key)
            site, detail = (node.site, node.kind) if node else ("", "")
        info = sites.get(site)
        district, district_name = (
            (info.district, info.district_name)
            if info is not None
            else org_districts.get(item.key, ("", ""))
        )
        end = dt.datetime.combine(item.until + dt.timedelta(days=1), dt.time(), zone)
        rows.append(
            ExpiryRow(
                item.kind, item.key, item.name, end.timestamp(), detail, site, district,
                district_name,
            )
        )  # fmt: skip
    counts = TallyCounter((i.kind.value, i.state) for i in items)
    return CmdbSnapshot(zone, sites, nodes, tuple(rows), dict(counts), today)


class LedgerCollector(PromCollector):
    """Yields the current states of monitored objects and their CMDB context on each scrape.

    The CMDB context (:class:`CmdbSnapshot`) is re-read by the first scrape after each finished
    cycle, in the scrape's thread; a failed read keeps the previous one (logged) and is retried
    by the next scrape.
    """

    def __init__(
        self,
        collector: Collector,
        *,
        zone: ZoneInfo | None = None,
        expiry_horizon_days: int = DEFAULT_EXPIRY_HORIZON_DAYS,
        expiry_thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    ) -> None:
        self.collector = collector
        self.zone = zone
        self.expiry_horizon_days = expiry_horizon_days
        self.expiry_thresholds = tuple(expiry_thresholds)
        self._lock = threading.Lock()
        self._snapshot: CmdbSnapshot | None = None
        self._stale = True

    def cycle_finished(self, report: CycleReport) -> None:
        """A cycle finished: the next scrape re-reads the CMDB context."""
        self._stale = True

    def snapshot(self) -> CmdbSnapshot | None:
        """The CMDB context, re-read if a cycle finished since the last read."""
        with self._lock:
            if self._stale or self._snapshot is None:
                ledger, targets = self.collector.ledger, self.collector.targets
                known = [
                    n.vipnet_id
                    for n in (targets.nodes if targets else ())
                    if ledger.state_of("vipnet_node", n.vipnet_id) is not State.UNKNOWN
                ]
                try:
                    self._snapshot = load_snapshot(
                        self.collector.engine,
                        self.collector.clock(),
                        node_ids=known,
                        zone=self.zone,
                        horizon_days=self.expiry_horizon_days,
                        thresholds=self.expiry_thresholds,
                    )
                    self._stale = False
                except SQLAlchemyError as exc:
                    logger.warning("CMDB context for /metrics not refreshed: %s", exc)
            return self._snapshot

    def _since(self, kind: str, key: str) -> float | None:
        tracked = self.collector.ledger.tracked.get((kind, key))
        return tracked.since.timestamp() if tracked is not None else None

    def collect(self) -> Iterator[GaugeMetricFamily | StateSetMetricFamily]:
        ledger = self.collector.ledger
        targets = self.collector.targets
        vantage = ledger.vantage
        snapshot = self.snapshot()
        channel_labels = ["channel", "site", "role", "redundancy_group", "vantage"]
        channel_up = GaugeMetricFamily(
            "kontur_channel_up",
            "Channel is up (1) or down (0) from this vantage; absent while unknown.",
            labels=channel_labels,
        )
        channel_since = GaugeMetricFamily(
            "kontur_channel_state_since_timestamp_seconds",
            "When the channel's current state (unknown included) began, per the ledger.",
            labels=channel_labels,
        )
        on_backup = GaugeMetricFamily(
            "kontur_channel_on_backup",
            "Site's redundancy group runs on a backup channel (1) or on its primary (0).",
            labels=["site", "redundancy_group", "active_channel", "vantage"],
        )
        device_up = GaugeMetricFamily(
            "kontur_device_up",
            "Device answers SNMP (1) or not (0); absent while unknown.",
            labels=["device", "site", "vantage"],
        )
        node_up = GaugeMetricFamily(
            "kontur_vipnet_node_up",
            "ViPNet node is up (1) or down (0); absent while unknown.",
            labels=["vipnet_id", "kind", "vantage"],
        )
        node_since = GaugeMetricFamily(
            "kontur_vipnet_node_state_since_timestamp_seconds",
            "When the ViPNet node's current state (unknown included) began, per the ledger.",
            labels=["vipnet_id", "kind", "vantage"],
        )
        node_info = GaugeMetricFamily(
            "kontur_vipnet_node_info",
            "A ViPNet node whose state is known: its name, site and district (always 1).",
            labels=["vipnet_id", "name", "site", "district", "district_name", "vantage"],
        )
        site_state = StateSetMetricFamily(
            "kontur_site_state",
            "Site state from its channels: up, degraded (on backup), down, unknown.",
            labels=["site", "vantage"],
        )
        site_since = GaugeMetricFamily(
            "kontur_site_state_since_timestamp_seconds",
            "When the site's current state (unknown included) began, per the ledger.",
            labels=["site", "vantage"],
        )
        site_info = GaugeMetricFamily(
            "kontur_site_info",
            "A site of the CMDB: its name, kind and district (always 1).",
            labels=["site", "site_name", "site_kind", "district", "district_name", "vantage"],
        )
        active = GaugeMetricFamily(
            "kontur_dc_active",
            "The DC answering at the regional service address (1 for the active one).",
            labels=["site", "role", "vantage"],
        )
        sites = dict(snapshot.sites) if snapshot else {}
        if targets is not None:
            for ch in targets.channels:
                labels = [ch.key, ch.site, ch.role, ch.group or "", vantage]
                value = _UP.get(ledger.state_of("channel", ch.key))
                if value is not None:
                    channel_up.add_metric(labels, value)
                since = self._since("channel", ch.key)
                if since is not None:
                    channel_since.add_metric(labels, since)
            for dev in targets.devices:
                value = _UP.get(ledger.state_of("device", dev.name))
                if value is not None:
                    device_up.add_metric([dev.name, dev.site, vantage], value)
            nodes = snapshot.nodes if snapshot else {}
            for node in targets.nodes:
                state = ledger.state_of("vipnet_node", node.vipnet_id)
                value = _UP.get(state)
                if value is not None:
                    node_up.add_metric([node.vipnet_id, node.kind, vantage], value)
                since = self._since("vipnet_node", node.vipnet_id)
                if since is not None:
                    node_since.add_metric([node.vipnet_id, node.kind, vantage], since)
                if state is not State.UNKNOWN:
                    held = nodes.get(node.vipnet_id)
                    site = held.site if held else ""
                    place = sites.get(site)
                    node_info.add_metric(
                        [
                            node.vipnet_id, held.name if held else "", site,
                            place.district if place else "", place.district_name if place else "",
                            vantage,
                        ],
                        1.0,
                    )  # fmt: skip
            for site in sorted({ch.site for ch in targets.channels}):
                current = ledger.state_of("site", site)
                site_state.add_metric([site, vantage], {s.value: s is current for s in State})
                since = self._since("site", site)
                if since is not None:
                    site_since.add_metric([site, vantage], since)
                # A site the snapshot has not seen yet still joins (alerts must not vanish).
                sites.setdefault(site, SiteInfo(site, "", "", "", ""))
        for info in sorted(sites.values(), key=lambda s: s.code):
            site_info.add_metric(
                [info.code, info.name, info.kind, info.district, info.district_name, vantage], 1.0
            )
        if ledger.active_dc is not None:
            site, kind = ledger.active_dc
            active.add_metric([site, kind.removeprefix("dc_"), vantage], 1.0)
        for (site, group), fo in sorted(ledger.on_backup().items()):
            on_backup.add_metric(
                [site, group, fo.active_channel or "", vantage], 1.0 if fo.on_backup else 0.0
            )
        yield active
        yield channel_up
        yield channel_since
        yield on_backup
        yield device_up
        yield node_up
        yield node_since
        yield node_info
        yield site_state
        yield site_since
        yield site_info
        yield from self._expiry_families(snapshot)

    def _expiry_families(self, snapshot: CmdbSnapshot | None) -> Iterator[GaugeMetricFamily]:
        place = ["site", "district", "district_name"]
        families = {
            ExpiryKind.ATTESTATION: GaugeMetricFamily(
                *EXPIRY_METRICS[ExpiryKind.ATTESTATION],
                labels=["number", "object", "scope", *place],
            ),
            ExpiryKind.VIPNET_KEYS: GaugeMetricFamily(
                *EXPIRY_METRICS[ExpiryKind.VIPNET_KEYS],
                labels=["vipnet_id", "name", "kind", *place],
            ),
            ExpiryKind.VIPNET_CERTIFICATE: GaugeMetricFamily(
                *EXPIRY_METRICS[ExpiryKind.VIPNET_CERTIFICATE],
                labels=["vipnet_id", "name", "kind", *place],
            ),
        }
        counts = GaugeMetricFamily(
            "kontur_expiry_items",
            "Attestations, ViPNet key sets and certificates by calendar state "
            "(valid, expiring_<days>, expired).",
            labels=["kind", "state"],
        )
        if snapshot is not None:
            for row in snapshot.expiries:
                families[row.kind].add_metric(
                    [row.key, row.name, row.detail, row.site, row.district, row.district_name],
                    row.expires_at,
                )
            for kind in ExpiryKind:
                for state in expiry_states(self.expiry_thresholds):
                    counts.add_metric(
                        [kind.value, state],
                        float(snapshot.expiry_counts.get((kind.value, state), 0)),
                    )
        yield from families.values()
        yield counts


class CollectorMetrics:
    """Poll counters and histograms, fed by finished cycles."""

    def __init__(self, registry: CollectorRegistry, interval_s: float | None = None) -> None:
        self.polls = Counter(
            "kontur_collector_polls_total", "Polls made, by kind.", ["kind"], registry=registry
        )
        self.errors = Counter(
            "kontur_collector_poll_errors_total",
            "Polls that failed, by kind and error.",
            ["kind", "error"],
            registry=registry,
        )
        self.duration = Histogram(
            "kontur_collector_poll_duration_seconds",
            "Duration of one poll, by kind.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.cycle = Histogram(
            "kontur_collector_cycle_duration_seconds",
            "Duration of a whole collection cycle.",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
            registry=registry,
        )
        self.transitions = Counter(
            "kontur_collector_transitions_total",
            "State transitions written to the ledger, by object kind and new state.",
            ["kind", "state"],
            registry=registry,
        )
        self.failovers = Counter(
            "kontur_collector_failovers_total",
            "Failover events, by kind.",
            ["kind"],
            registry=registry,
        )
        self.last_cycle = Gauge(
            "kontur_collector_last_cycle_timestamp_seconds",
            "When the last cycle finished (Unix time); 0 before the first one.",
            registry=registry,
        )
        self.started = Gauge(
            "kontur_collector_started_timestamp_seconds",
            "When this collector started (Unix time).",
            registry=registry,
        )
        self.started.set(time.time())
        self.interval = Gauge(
            "kontur_collector_interval_seconds",
            "The configured time between the starts of two cycles.",
            registry=registry,
        )
        if interval_s is not None:
            self.interval.set(interval_s)

    def cycle_finished(self, report: CycleReport) -> None:
        """Account for one finished cycle."""
        for d in report.device_results:
            self.polls.labels("snmp").inc()
            self.duration.labels("snmp").observe(d.duration_s)
            if d.error:
                self.errors.labels("snmp", d.error).inc()
        for p in report.probe_results:
            self.polls.labels("icmp").inc()
            self.duration.labels("icmp").observe(p.duration_s)
            if p.error:
                self.errors.labels("icmp", p.error).inc()
        for tr in report.transitions:
            self.transitions.labels(tr.kind, tr.state.value).inc()
        for ev in report.failovers:
            self.failovers.labels(ev.kind).inc()
        self.cycle.observe(report.duration_s)
        self.last_cycle.set(report.started_at.timestamp() + report.duration_s)


def register_metrics(
    registry: CollectorRegistry,
    collector: Collector,
    *,
    zone: ZoneInfo | None = None,
    expiry_horizon_days: int = DEFAULT_EXPIRY_HORIZON_DAYS,
) -> CollectorMetrics:
    """Register the ledger collector and the poll metrics; both listen to cycles.

    ``zone``: the region's time zone for expiry dates (default: the CMDB region's own).
    """
    ledger_metrics = LedgerCollector(collector, zone=zone, expiry_horizon_days=expiry_horizon_days)
    registry.register(ledger_metrics)
    metrics = CollectorMetrics(registry, collector.settings.interval_s)
    collector.listeners.extend([metrics, ledger_metrics])
    return metrics
