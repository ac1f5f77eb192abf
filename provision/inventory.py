"""The Ansible inventory built from the CMDB: hosts, groups and host variables, no secrets.

Hosts are the CMDB's devices (by ``name``) and workstations (AWPs, by ``hostname``), except those
decommissioned or standing at a decommissioned site. Groups (names are ``[a-z0-9_]`` only):

* site kind: ``dc_primary dc_reserve dc_test mo_main mo_unit fap fp ambulance other``;
* ``district_<slug>``: the district's name transliterated (:func:`district_slug`);
* ``mo_<slug of the MO's code>``: hosts at sites of a medical organization (its FAPs included);
* ``role_<device role>`` (``role_router``, ``role_vipnet_coordinator`` ...); AWPs in ``role_awp``;
* ``platform_<platform>``;
* ``vipnet_<network number>``: hosts that are ViPNet nodes of that network.

Host variables: ``ansible_host`` (the management address; AWPs have none in the CMDB and are
reached by their hostname), ``ansible_network_os`` (network devices, from the platform),
``kontur_platform``, ``kontur_snmp_profile`` (a credential profile's *name*), ``kontur_site``,
``kontur_channels``, ``kontur_vipnet`` and ``kontur_object`` (kind and natural key, so run events
link back to the CMDB). Credentials are never here: playbooks take them from ansible-vault or the
environment by the profile's name.

CMDB text is data, not a template: every string containing ``{`` is emitted as
``{"__ansible_unsafe": ...}`` so Ansible never renders a Jinja expression someone typed into a
site name.

Everything is read in a handful of set-based Core queries (one per table), so the 35k hosts of the
demo region take well under a second.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, Engine, select

from cmdb.models import (
    Channel,
    Device,
    District,
    Organization,
    Site,
    VipnetNetwork,
    VipnetNode,
    Workstation,
)

logger = logging.getLogger(__name__)

#: Ansible's ``network_os`` per platform, for the roles whose hosts are network devices.
NETWORK_OS: Final[dict[str, str]] = {
    "cisco_ios": "cisco.ios.ios",
    "cisco_nxos": "cisco.nxos.nxos",
    "huawei_vrp": "community.network.ce",
    "juniper_junos": "junipernetworks.junos.junos",
    "mikrotik_routeros": "community.routeros.routeros",
    "frr_vtysh": "frr.frr.frr",
    "eltex_esr": "eltex_esr",
    "eltex_mes": "eltex_mes",
    "qtech_qsw": "qtech_qsw",
}
NETWORK_ROLES: Final = frozenset({"router", "switch", "firewall"})
#: The group of workstations (AWPs, «АРМ»).
AWP_ROLE: Final = "awp"
SKIPPED_STATUS: Final = "decommissioned"

# Transliteration for group names: the common Latin spelling (Абинский → abinsky,
# Кущёвский → kushchevsky, Горячий Ключ → goryachy_klyuch).
_TRANSLIT: Final[dict[str, str]] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
#: Words naming the kind of a municipal formation, left out of its slug.
_GENERIC_WORDS: Final = re.compile(
    r"\b(муниципальный|муниципальное|городской|сельский|район|округ|образование|город|г\.|"
    r"поселение|станица|ст\.)(?=\s|$|\.)",
    re.IGNORECASE,
)
_ADJECTIVE_END: Final = re.compile(r"(ий|ый)\b")
_NON_SLUG: Final = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """``[a-z0-9_]`` from any text: Cyrillic transliterated, other characters to ``_``."""
    lowered = _ADJECTIVE_END.sub("y", text.lower())
    latin = "".join(_TRANSLIT.get(ch, ch) for ch in lowered)
    return _NON_SLUG.sub("_", latin).strip("_")


def district_slug(name: str) -> str:
    """The slug of a district's name without the words naming its kind.

    «Абинский район» → ``abinsky``, «городской округ Горячий Ключ» → ``goryachy_klyuch``,
    «Приморско-Ахтарский район» → ``primorsko_akhtarsky``. Falls back to the whole name's slug
    if only generic words remain.
    """
    specific = _GENERIC_WORDS.sub(" ", name.lower())
    return slugify(specific) or slugify(name) or "unnamed"


def district_groups(districts: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Group name per district code, from (code, name) pairs: ``district_<slug>``.

    Unique and stable: when two districts' names give the same slug, the one with the lowest code
    keeps ``district_<slug>`` and the others get ``district_<slug>_<code slug>``, so adding a
    district with a higher code never renames an existing group.
    """
    by_slug: dict[str, list[str]] = defaultdict(list)
    for code, name in sorted(districts):
        by_slug[district_slug(name)].append(code)
    groups: dict[str, str] = {}
    for slug, codes in by_slug.items():
        groups[codes[0]] = f"district_{slug}"
        for code in codes[1:]:
            groups[code] = f"district_{slug}_{slugify(code)}"
    return groups


def mo_group(code: str) -> str:
    """``mo_<slug of the organization code>``: ``MO-1`` → ``mo_mo_1``."""
    return f"mo_{slugify(code)}"


def _unsafe(value: Any) -> Any:
    """Mark strings Jinja could act on as data; recurse into lists and dicts."""
    if isinstance(value, str):
        return {"__ansible_unsafe": value} if "{" in value else value
    if isinstance(value, dict):
        return {k: _unsafe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsafe(v) for v in value]
    return value


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True, slots=True)
class _SiteRow:
    code: str
    name: str
    kind: str
    status: str
    district: str | None
    district_name: str | None
    district_group: str | None
    organization: str | None
    mo_group: str | None

    def facts(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "name": self.name,
            "district": self.district,
            "district_name": self.district_name,
            "district_group": self.district_group,
            "organization": self.organization,
        }


def _sites(conn: Connection) -> dict[int, _SiteRow]:
    districts = {
        row.id: (row.code, row.name)
        for row in conn.execute(select(District.id, District.code, District.name))
    }
    d_groups = district_groups(districts.values())
    orgs = {
        row.id: (row.code, row.kind)
        for row in conn.execute(select(Organization.id, Organization.code, Organization.kind))
    }
    sites: dict[int, _SiteRow] = {}
    query = select(
        Site.id, Site.code, Site.name, Site.kind, Site.status, Site.district_id,
        Site.organization_id,
    )  # fmt: skip
    for row in conn.execute(query):
        d_code, d_name = districts.get(row.district_id, (None, None))
        org_code, org_kind = orgs.get(row.organization_id, (None, None))
        sites[row.id] = _SiteRow(
            code=row.code,
            name=row.name,
            kind=row.kind,
            status=row.status,
            district=d_code,
            district_name=d_name,
            district_group=d_groups.get(d_code) if d_code else None,
            organization=org_code,
            mo_group=mo_group(org_code) if org_code and org_kind == "mo" else None,
        )
    return sites


def _channels(
    conn: Connection, site_routers: Mapping[int, list[int]]
) -> dict[int, list[dict[str, Any]]]:
    """Channel facts per device id: the ends the device terminates.

    An end names its device; an end without one is taken to be terminated by the routers of that
    end's site.
    """
    providers = {
        row.id: (row.code, row.short_name)
        for row in conn.execute(
            select(Organization.id, Organization.code, Organization.short_name).where(
                Organization.kind == "provider"
            )
        )
    }
    per_device: dict[int, list[dict[str, Any]]] = defaultdict(list)
    table = Channel.__table__
    query = select(table).where(table.c.status != SKIPPED_STATUS).order_by(table.c.key)
    rows = conn.execute(query).mappings()
    for ch in rows:
        provider_code, provider_name = providers.get(ch["provider_id"], (None, None))
        common = {
            "key": ch["key"],
            "role": ch["role"],
            "medium": ch["medium"],
            "status": ch["status"],
            "provider": provider_code,
            "provider_name": provider_name,
            "bandwidth_mbps": _number(ch["bandwidth_mbps"]),
            "redundancy_group": ch["redundancy_group"],
        }
        for near, far in (("a", "z"), ("z", "a")):
            device_id = ch[f"{near}_device_id"]
            devices = [device_id] if device_id else site_routers.get(ch[f"{near}_site_id"], [])
            if not devices:
                continue
            fact = {
                **common,
                "end": near,
                "interface": ch[f"{near}_interface"],
                "address": ch[f"{near}_address"],
                "peer_address": ch[f"{far}_address"],
            }
            for dev in devices:
                per_device[dev].append(fact)
    return per_device


def build(conn: Connection) -> dict[str, Any]:
    """The inventory as Ansible's ``--list`` JSON: groups, ``all.children``, ``_meta.hostvars``."""
    sites = _sites(conn)
    live_sites = {sid for sid, s in sites.items() if s.status != SKIPPED_STATUS}
    networks = {
        row.id: row.number for row in conn.execute(select(VipnetNetwork.id, VipnetNetwork.number))
    }
    nodes: dict[int, tuple[str, str, int | None, int | None]] = {}
    node_of_device: dict[int, int] = {}
    for node in conn.execute(
        select(
            VipnetNode.id, VipnetNode.vipnet_id, VipnetNode.kind, VipnetNode.network_id,
            VipnetNode.device_id,
        )
    ):  # fmt: skip
        nodes[node.id] = (node.vipnet_id, node.kind, networks.get(node.network_id), node.device_id)
        if node.device_id is not None:
            node_of_device[node.device_id] = node.id

    devices = [
        dev
        for dev in conn.execute(
            select(
                Device.id, Device.name, Device.site_id, Device.role, Device.platform,
                Device.mgmt_address, Device.snmp_profile, Device.status,
            ).order_by(Device.name)
        )
        if dev.status != SKIPPED_STATUS and dev.site_id in live_sites
    ]  # fmt: skip
    site_routers: dict[int, list[int]] = defaultdict(list)
    for dev in devices:
        if dev.role == "router":
            site_routers[dev.site_id].append(dev.id)
    channels = _channels(conn, site_routers)

    groups: dict[str, list[str]] = defaultdict(list)
    hostvars: dict[str, dict[str, Any]] = {}

    def place(host: str, site: _SiteRow, node_id: int | None) -> dict[str, Any] | None:
        groups[site.kind].append(host)
        if site.district_group:
            groups[site.district_group].append(host)
        if site.mo_group:
            groups[site.mo_group].append(host)
        if node_id is None or node_id not in nodes:
            return None
        vipnet_id, kind, number, _ = nodes[node_id]
        if number is not None:
            groups[f"vipnet_{number}"].append(host)
        return {"id": vipnet_id, "kind": kind, "network": number}

    for row in devices:
        site = sites[row.site_id]
        vipnet = place(row.name, site, node_of_device.get(row.id))
        groups[f"role_{row.role}"].append(row.name)
        groups[f"platform_{slugify(row.platform)}"].append(row.name)
        hv: dict[str, Any] = {}
        if row.mgmt_address:
            hv["ansible_host"] = row.mgmt_address
        if row.role in NETWORK_ROLES:
            hv["ansible_network_os"] = NETWORK_OS.get(row.platform, row.platform)
        hv["kontur_platform"] = row.platform
        hv["kontur_snmp_profile"] = row.snmp_profile
        hv["kontur_status"] = row.status
        hv["kontur_site"] = site.facts()
        hv["kontur_channels"] = channels.get(row.id, [])
        hv["kontur_vipnet"] = vipnet
        hv["kontur_object"] = {"kind": "device", "key": row.name, "role": row.role}
        hostvars[row.name] = _unsafe(hv)

    for ws in conn.execute(
        select(
            Workstation.hostname, Workstation.site_id, Workstation.os,
            Workstation.protected_network, Workstation.vipnet_node_id,
        ).order_by(Workstation.hostname)
    ):  # fmt: skip
        if ws.site_id not in live_sites:
            continue
        site = sites[ws.site_id]
        vipnet = place(ws.hostname, site, ws.vipnet_node_id)
        groups[f"role_{AWP_ROLE}"].append(ws.hostname)
        hostvars[ws.hostname] = _unsafe(
            {
                "kontur_os": ws.os,
                "kontur_protected_network": ws.protected_network,
                "kontur_site": site.facts(),
                "kontur_channels": [],
                "kontur_vipnet": vipnet,
                "kontur_object": {"kind": "workstation", "key": ws.hostname, "role": AWP_ROLE},
            }
        )

    inventory: dict[str, Any] = {"_meta": {"hostvars": hostvars}}
    inventory["all"] = {"children": ["ungrouped", *sorted(groups)]}
    for name in sorted(groups):
        inventory[name] = {"hosts": groups[name]}
    return inventory


def build_inventory(engine: Engine) -> dict[str, Any]:
    """:func:`build` in one read transaction (a consistent snapshot on PostgreSQL)."""
    with engine.connect() as conn, conn.begin():
        return build(conn)


def dumps(inventory: Mapping[str, Any]) -> bytes:
    """The inventory as compact JSON bytes (what the inventory script prints)."""
    import orjson

    return orjson.dumps(inventory)


def host_groups(inventory: Mapping[str, Any]) -> dict[str, list[str]]:
    """Group name → host names, from an inventory built here (``_meta`` and ``all`` left out)."""
    return {
        name: list(group.get("hosts", []))
        for name, group in inventory.items()
        if name not in ("_meta", "all")
    }
