"""Small explicit builders of CMDB data for tests, going through the real importer.

``make_world`` creates a tiny region: one region, two districts, the MIAC, one MO, one provider,
a DC site, an MO unit and a FAP, routers, a coordinator, ViPNet network 1988 with two nodes,
three AWPs and two channels of one redundancy group. Tests add what they need on top.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from cmdb.importer import ImportResult, import_records

ZONE = ZoneInfo("Europe/Moscow")
ACTOR = "tester"

WORLD: dict[str, list[dict[str, Any]]] = {
    "regions": [{"code": "23", "name": "Краснодарский край"}],
    "districts": [
        {"code": "23-G01", "name": "городской округ Краснодар", "region": "23"},
        {"code": "23-R01", "name": "Абинский район", "region": "23"},
    ],
    "organizations": [
        {"code": "ORG-MIAC", "kind": "miac", "short_name": "ГБУЗ МИАЦ", "full_name": "МИАЦ"},
        {
            "code": "MO-1",
            "kind": "mo",
            "short_name": "ЦРБ № 1",
            "full_name": "Центральная районная больница № 1",
            "frmo_oid": "1.2.643.5.1.13.13.12.2.23.1",
            "district": "23-R01",
        },
        {
            "code": "PRV-1",
            "kind": "provider",
            "short_name": "ООО «Связь»",
            "full_name": "ООО «Связь»",
        },
    ],
    "sites": [
        {
            "code": "DC-PRIMARY",
            "name": "Основной РИР",
            "kind": "dc_primary",
            "district": "23-G01",
            "organization": "ORG-MIAC",
        },
        {
            "code": "MO-1-M",
            "name": "ЦРБ № 1",
            "kind": "mo_main",
            "district": "23-R01",
            "organization": "MO-1",
        },
        {
            "code": "FAP-0001",
            "name": "ФАП хутор Первый",
            "kind": "fap",
            "district": "23-R01",
            "organization": "MO-1",
            "latitude": 44.9,
            "longitude": 38.1,
        },
    ],
    "devices": [
        {
            "name": "dc-rtr1",
            "site": "DC-PRIMARY",
            "role": "router",
            "platform": "eltex_esr",
            "mgmt_address": "127.23.0.1",
            "snmp_profile": "v3-dc",
        },
        {
            "name": "dc-hw1",
            "site": "DC-PRIMARY",
            "role": "vipnet_coordinator",
            "platform": "vipnet_coordinator_hw",
            "mgmt_address": "127.23.0.2",
        },
        {
            "name": "fap-0001-rtr",
            "site": "FAP-0001",
            "role": "router",
            "platform": "mikrotik_routeros",
            "mgmt_address": "127.23.0.3",
        },
    ],
    "vipnet-networks": [
        {"number": 1988, "name": "ЗСПД (ViPNet 1988)", "admin_organization": "ORG-MIAC"}
    ],
    "vipnet-nodes": [
        {
            "vipnet_id": "0x07c40001",
            "name": "Координатор ЦОД",
            "kind": "coordinator",
            "device": "dc-hw1",
            "keys_issued_on": "2026-01-10",
            "keys_valid_until": "2027-01-10",
        },
        {
            "vipnet_id": "0x07c40002",
            "name": "АРМ ФАП-0001",
            "kind": "client",
            "keys_issued_on": "2026-02-01",
            "keys_valid_until": "2027-02-01",
            "certificate_valid_until": "2027-02-01",
        },
    ],
    "workstations": [
        {
            "hostname": "arm-mo-1-001",
            "site": "MO-1-M",
            "inventory_number": "ИН-1",
            "protected_network": True,
        },
        {
            "hostname": "arm-mo-1-002",
            "site": "MO-1-M",
            "inventory_number": "ИН-2",
            "protected_network": False,
        },
        {
            "hostname": "arm-fap-0001-001",
            "site": "FAP-0001",
            "inventory_number": "ИН-3",
            "protected_network": True,
            "vipnet_node": "0x07c40002",
        },
    ],
    "channels": [
        {
            "key": "CH-FAP-0001-1",
            "provider": "PRV-1",
            "contract_number": "12/2026",
            "contract_date": "2026-01-15",
            "bandwidth_mbps": 20,
            "medium": "copper",
            "a_site": "FAP-0001",
            "a_device": "fap-0001-rtr",
            "z_site": "DC-PRIMARY",
            "z_device": "dc-rtr1",
            "role": "primary",
            "redundancy_group": "FAP-0001-WAN",
            "sla_target_pct": "98.5",
        },
        {
            "key": "CH-FAP-0001-2",
            "provider": "PRV-1",
            "medium": "lte",
            "a_site": "FAP-0001",
            "z_site": "DC-PRIMARY",
            "role": "backup",
            "redundancy_group": "FAP-0001-WAN",
        },
    ],
}

ORDER = tuple(WORLD)


def load(
    engine: Engine, kind: str, records: Sequence[Mapping[str, Any]], source: str = "test"
) -> ImportResult:
    """Import ``records`` of ``kind`` as the test actor."""
    return import_records(engine, kind, records, source=source, actor=ACTOR, zone=ZONE)


def make_world(engine: Engine, upto: str | None = None) -> None:
    """Load the tiny region, optionally only the kinds up to and including ``upto``."""
    for kind in ORDER:
        load(engine, kind, WORLD[kind], source="factory")
        if kind == upto:
            return


def control_point(**overrides: Any) -> dict[str, Any]:
    """A monthly control point record (channels of the RIR, by the 15th of the next month)."""
    record: dict[str, Any] = {
        "code": "1.1.2.3.4",
        "title": "Обеспечены каналы связи основного и резервного РИР",
        "evidence": "Акты оказания услуг",
        "recurrence": "monthly",
        "due_day": 15,
        "valid_from": dt.date(2020, 1, 1),
        "valid_until": dt.date(2024, 12, 31),
    }
    record.update(overrides)
    return record
