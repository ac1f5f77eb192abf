"""What to poll: the monitored objects of the CMDB, read once per cycle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, aliased

from cmdb.choices import ChannelStatus, DeviceStatus, SiteStatus
from cmdb.models import (
    AgentHeartbeat,
    AgentToken,
    Channel,
    Device,
    Site,
    VipnetNode,
    Workstation,
)

#: Devices in these states are polled (maintenance too: the ledger records what really happens;
#: maintenance windows are subtracted in reports and alerts, not by looking away).
POLLED_DEVICE_STATUSES = (DeviceStatus.ACTIVE.value, DeviceStatus.MAINTENANCE.value)


@dataclass(frozen=True)
class DeviceTarget:
    """A device polled over SNMP."""

    name: str
    site: str
    host: str
    platform: str
    credential: str
    interfaces: tuple[str, ...]


@dataclass(frozen=True)
class ChannelTarget:
    """A channel: its A-end interface (via SNMP) and/or its far-end address (via ICMP)."""

    key: str
    site: str
    z_site: str
    role: str
    group: str | None
    device: str | None
    interface: str | None
    address: str | None


@dataclass(frozen=True)
class NodeTarget:
    """A ViPNet node: a coordinator bound to a device, or a client seen through its AWP's agent."""

    vipnet_id: str
    kind: str
    device: str | None
    workstation: str | None


@dataclass(frozen=True)
class Heartbeat:
    """The latest heartbeat of an agent bound to a CMDB object."""

    object_kind: str
    object_key: str
    received_at_epoch: float
    vipnet_service_active: bool | None


@dataclass(frozen=True)
class Targets:
    """Everything one cycle polls."""

    devices: tuple[DeviceTarget, ...]
    channels: tuple[ChannelTarget, ...]
    nodes: tuple[NodeTarget, ...]
    sites: tuple[str, ...]
    heartbeats: tuple[Heartbeat, ...]
    #: site code → kind, for the sites devices stand at
    site_kinds: Mapping[str, str] = field(default_factory=dict)


def load_targets(engine: Engine) -> Targets:
    """Read the monitored objects from the CMDB."""
    a_site, z_site = aliased(Site), aliased(Site)
    a_dev = aliased(Device)
    with Session(engine) as session:
        channels = [
            ChannelTarget(
                key=ch.key,
                site=site_a,
                z_site=site_z,
                role=ch.role,
                group=ch.redundancy_group,
                device=dev_name,
                interface=ch.a_interface,
                address=ch.a_address or ch.z_address,
            )
            for ch, site_a, site_z, dev_name in session.execute(
                select(Channel, a_site.code, z_site.code, a_dev.name)
                .join(a_site, a_site.id == Channel.a_site_id)
                .join(z_site, z_site.id == Channel.z_site_id)
                .outerjoin(a_dev, a_dev.id == Channel.a_device_id)
                .where(Channel.status == ChannelStatus.ACTIVE.value)
                .order_by(Channel.key)
            )
        ]
        interfaces: dict[str, list[str]] = {}
        for ch in channels:
            if ch.device and ch.interface:
                interfaces.setdefault(ch.device, []).append(ch.interface)
        devices = [
            DeviceTarget(
                name=dev.name,
                site=site_code,
                host=dev.mgmt_address or "",
                platform=dev.platform,
                credential=dev.snmp_profile or "",
                interfaces=tuple(sorted(set(interfaces.get(dev.name, ())))),
            )
            for dev, site_code in session.execute(
                select(Device, Site.code)
                .join(Site, Site.id == Device.site_id)
                .where(
                    Device.status.in_(POLLED_DEVICE_STATUSES),
                    Device.mgmt_address.is_not(None),
                    Device.snmp_profile.is_not(None),
                )
                .order_by(Device.name)
            )
        ]
        ws_by_node: dict[int, str] = {
            node_id: hostname
            for node_id, hostname in session.execute(
                select(Workstation.vipnet_node_id, Workstation.hostname).where(
                    Workstation.vipnet_node_id.is_not(None)
                )
            )
            if node_id is not None
        }
        nodes = [
            NodeTarget(node.vipnet_id, node.kind, dev_name, ws_by_node.get(node.id))
            for node, dev_name in session.execute(
                select(VipnetNode, Device.name)
                .outerjoin(Device, Device.id == VipnetNode.device_id)
                .where(VipnetNode.enabled.is_(True))
                .order_by(VipnetNode.vipnet_id)
            )
        ]
        # .all(): a Result has .keys(), so dict() would take it for a mapping
        site_kinds: dict[str, str] = dict(
            session.execute(
                select(Site.code, Site.kind).where(Site.status == SiteStatus.ACTIVE.value)
            )
            .tuples()
            .all()
        )
        sites = tuple(sorted(site_kinds))
        heartbeats = []
        for token, beat in session.execute(
            select(AgentToken, AgentHeartbeat)
            .join(AgentHeartbeat, AgentHeartbeat.token_name == AgentToken.name)
            .where(AgentToken.revoked.is_(False))
        ):
            vipnet = (beat.payload or {}).get("vipnet") or {}
            active = vipnet.get("service_active")
            heartbeats.append(
                Heartbeat(
                    token.object_kind,
                    token.object_key,
                    beat.received_at.timestamp(),
                    active if isinstance(active, bool) else None,
                )
            )
    return Targets(
        tuple(devices), tuple(channels), tuple(nodes), sites, tuple(heartbeats), site_kinds
    )
