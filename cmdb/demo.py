"""The demo region: a Krasnodar-like contour built from the regional project passport's figures.

Real figures (from ../shared/domain/001-krasnodar-passport.md): 44 municipal formations; primary,
reserve and test data-center sites with the primary/reserve uplinks and the inter-site channel;
ViPNet network 1988 (0x07C4); 1634 structural units of which 701 FAP/FP; 31,695 AWPs at scale 1
(30,994 at MO units + one per FAP/FP), all on the protected network as the 2022+ plan of indicator
2.3 says; attestation 16.12.2019 and re-attestation 16.12.2022; the infrastructure control points;
indicators 2.2, 2.3 and 2.4 with their plan values.

Invented details (names of MOs other than those the passport names, addresses, coordinates,
contracts, providers, device models, key dates) carry ``synthetic = true`` where the kind has that
column, or say so in ``notes``. All management and channel-end addresses are in 127.23.0.0/16 on
loopback: the demo lab simulates the devices there, and no traffic ever leaves the machine.

The generator is deterministic for a given (scale, today); the records go through the same
importer as user files, so the demo is validated and audited like any import.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Engine

from cmdb.importer import ImportResult, import_records

Record = dict[str, Any]

SEED: Final = 1988

#: Real municipal formations of Krasnodar Krai: 7 city districts and 37 municipal districts.
CITIES: Final = (
    "Краснодар",
    "Сочи",
    "Новороссийск",
    "Армавир",
    "Анапа",
    "Геленджик",
    "Горячий Ключ",
)
DISTRICTS: Final = (
    "Абинский", "Апшеронский", "Белоглинский", "Белореченский", "Брюховецкий", "Выселковский",
    "Гулькевичский", "Динской", "Ейский", "Кавказский", "Калининский", "Каневской", "Кореновский",
    "Красноармейский", "Крыловский", "Крымский", "Курганинский", "Кущёвский", "Лабинский",
    "Ленинградский", "Мостовский", "Новокубанский", "Новопокровский", "Отрадненский", "Павловский",
    "Приморско-Ахтарский", "Северский", "Славянский", "Староминский", "Тбилисский", "Темрюкский",
    "Тимашёвский", "Тихорецкий", "Туапсинский", "Успенский", "Усть-Лабинский", "Щербиновский",
)  # fmt: skip

#: Figures of the passport at scale 1.
MO_LEGAL_ENTITIES: Final = 168  # indicator 2.7 denominator
NON_FAP_UNITS: Final = 933  # 1634 ТВСП − 701 FAP/FP
AMBULANCE_STATIONS: Final = 45  # indicator 3.1.1
FAP_FP: Final = 701
FP_SHARE: Final = 0.2  # synthetic: the passport does not split FAP from FP
MO_AWPS: Final = 30_994
FIRST_NAMES: Final = ("Станица", "Хутор", "Посёлок", "Село")

PROVIDERS: Final = (
    ("PRV-YUGSVYAZ", "ООО «ЮгСвязь»", "Общество с ограниченной ответственностью «ЮгСвязь»"),
    ("PRV-KUBANTELECOM", "АО «КубаньТелеком»", "Акционерное общество «КубаньТелеком»"),
    ("PRV-STEPLINK", "ООО «СтепьЛинк»", "Общество с ограниченной ответственностью «СтепьЛинк»"),
)
GIS_NAME: Final = "ГИС в сфере здравоохранения Краснодарского края (система защиты информации)"
OS_CHOICES: Final = (
    "Astra Linux SE 1.7",
    "РЕД ОС 7.3",
    "Windows 10 Pro",
    "Альт Рабочая станция 10",
)


@dataclass
class DemoData:
    """Records per kind, in import order."""

    records: dict[str, list[Record]] = field(default_factory=dict)

    def add(self, kind: str, record: Record) -> None:
        self.records.setdefault(kind, []).append(record)


def _scaled(value: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(value * scale))


class _Addresses:
    """Sequential loopback addresses 127.23.x.y (y in 1..254)."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        third, fourth = divmod(self.n, 254)
        self.n += 1
        return f"127.23.{third}.{fourth + 1}"


def build(scale: float = 1.0, today: dt.date | None = None) -> DemoData:
    """Generate the demo region's records."""
    if not 0 < scale <= 2:
        raise ValueError("scale must be in (0, 2]")
    today = today or dt.date.today()
    rng = random.Random(SEED)
    data = DemoData()
    addr = _Addresses()

    data.add("regions", {"code": "23", "name": "Краснодарский край", "timezone": "Europe/Moscow"})
    district_codes: list[str] = []
    for i, city in enumerate(CITIES, start=1):
        code = f"23-G{i:02d}"
        district_codes.append(code)
        data.add("districts", {"code": code, "name": f"городской округ {city}", "region": "23"})
    for i, name in enumerate(DISTRICTS, start=1):
        code = f"23-R{i:02d}"
        district_codes.append(code)
        data.add("districts", {"code": code, "name": f"{name} район", "region": "23"})

    _organizations(data, scale, district_codes)
    sites = _sites(data, scale, rng, district_codes)
    _devices_and_nodes(data, sites, rng, addr, today)
    _workstations(data, sites, scale, rng, today)
    _channels(data, sites, rng, addr)
    _compliance(data, scale, today)
    return data


def _organizations(data: DemoData, scale: float, district_codes: list[str]) -> None:
    data.add(
        "organizations",
        {
            "code": "ORG-MZ",
            "kind": "authority",
            "short_name": "Минздрав Краснодарского края",
            "full_name": "Министерство здравоохранения Краснодарского края",
            "district": "23-G01",
        },
    )
    data.add(
        "organizations",
        {
            "code": "ORG-MIAC",
            "kind": "miac",
            "short_name": "ГБУЗ МИАЦ",
            "full_name": "Государственное бюджетное учреждение здравоохранения «Медицинский "
            "информационно-аналитический центр» министерства здравоохранения Краснодарского края",
            "district": "23-G01",
            "contact": "Корогод М.А., и.о. начальника",
        },
    )
    for code, short, full in PROVIDERS:
        data.add(
            "organizations",
            {
                "code": code,
                "kind": "provider",
                "short_name": short,
                "full_name": full,
                "synthetic": True,
            },
        )
    data.add(
        "organizations",
        {
            "code": "CTR-ZASHCHITA",
            "kind": "contractor",
            "short_name": "ООО «ЗащитаИнфо»",
            "full_name": "Общество с ограниченной ответственностью «ЗащитаИнфо» "
            "(сопровождение сети "
            "ViPNet 1988, аттестация)",
            "synthetic": True,
        },
    )
    named = [
        (
            "MO-NIIKKB1",
            "ГБУЗ «НИИ – ККБ № 1»",
            "ГБУЗ «Научно-исследовательский институт – Краевая клиническая больница № 1 имени "
            "профессора С.В. Очаповского» министерства здравоохранения Краснодарского края",
        ),
        (
            "MO-KOD1",
            "ГБУЗ КОД № 1",
            "ГБУЗ «Клинический онкологический диспансер № 1» министерства здравоохранения "
            "Краснодарского края",
        ),
        (
            "MO-DKKB",
            "ГБУЗ ДККБ",
            "ГБУЗ «Детская краевая клиническая больница» министерства здравоохранения "
            "Краснодарского края",
        ),
        (
            "MO-RCMK",
            "ГБУЗ РЦМК",
            "ГБУЗ «Региональный центр медицины катастроф» министерства здравоохранения "
            "Краснодарского края",
        ),
    ]
    count = _scaled(MO_LEGAL_ENTITIES, scale, minimum=len(named) + 1)
    for index in range(count):
        if index < len(named):
            code, short, full = named[index]
            district = "23-G01"
        else:
            n = index - len(named) + 1
            district = district_codes[(n - 1) % len(district_codes)]
            place = (CITIES + DISTRICTS)[(n - 1) % len(district_codes)]
            code = f"MO-{n:04d}"
            short = f"ГБУЗ «ЦРБ № {n}» ({place})"
            full = (
                "Государственное бюджетное учреждение здравоохранения "
                f"«Центральная больница № {n}» ({place})"
            )
        data.add(
            "organizations",
            {
                "code": code,
                "kind": "mo",
                "short_name": short,
                "full_name": full,
                "frmo_oid": f"1.2.643.5.1.13.13.12.2.23.{9000 + index}",
                "district": district,
                "synthetic": True,  # the FRMO OIDs are invented even for MOs the passport names
            },
        )


@dataclass
class _Site:
    code: str
    kind: str
    district: str
    organization: str
    lat: float
    lon: float


def _sites(
    data: DemoData, scale: float, rng: random.Random, district_codes: list[str]
) -> list[_Site]:
    sites: list[_Site] = []

    def add(code: str, name: str, kind: str, district: str, org: str, address: str) -> _Site:
        lat = round(rng.uniform(44.4, 46.6), 5)
        lon = round(rng.uniform(37.5, 41.5), 5)
        data.add(
            "sites",
            {
                "code": code,
                "name": name,
                "kind": kind,
                "status": "active",
                "address": address,
                "district": district,
                "organization": org,
                "latitude": lat,
                "longitude": lon,
                "synthetic": True,
            },
        )
        site = _Site(code, kind, district, org, lat, lon)
        sites.append(site)
        return site

    add(
        "DC-PRIMARY",
        "Основной РИР (региональный ЦОД)",
        "dc_primary",
        "23-G01",
        "ORG-MIAC",
        "г. Краснодар, ул. Синтетическая, д. 1",
    )
    add(
        "DC-RESERVE",
        "Резервный РИР",
        "dc_reserve",
        "23-G01",
        "ORG-MIAC",
        "г. Краснодар, ул. Резервная, д. 2",
    )
    add(
        "DC-TEST",
        "Тестовая площадка",
        "dc_test",
        "23-G01",
        "ORG-MIAC",
        "г. Краснодар, ул. Синтетическая, д. 1, корп. 2",
    )
    for code, short, _full in PROVIDERS:
        add(
            f"POP-{code[4:]}",
            f"Узел связи {short}",
            "other",
            "23-G01",
            code,
            "г. Краснодар, узел связи оператора",
        )

    mos = [r for r in data.records["organizations"] if r["kind"] == "mo"]
    units = _scaled(NON_FAP_UNITS, scale, minimum=len(mos) + 1)
    ambulance = _scaled(AMBULANCE_STATIONS, scale)
    mo_units = max(0, units - len(mos) - ambulance)
    for mo in mos:
        add(
            f"{mo['code']}-M",
            f"{mo['short_name']}, головное здание",
            "mo_main",
            mo["district"],
            mo["code"],
            f"{_place(mo['district'])}, ул. Больничная, д. {rng.randint(1, 99)}",
        )
    for n in range(1, mo_units + 1):
        mo = mos[n % len(mos)]
        add(
            f"{mo['code']}-U{n:04d}",
            f"{mo['short_name']}, поликлиническое отделение № {n}",
            "mo_unit",
            mo["district"],
            mo["code"],
            f"{_place(mo['district'])}, ул. Лечебная, д. {rng.randint(1, 150)}",
        )
    rcmk = next((m for m in mos if m["code"] == "MO-RCMK"), mos[0])
    for n in range(1, ambulance + 1):
        district = district_codes[n % len(district_codes)]
        add(
            f"SMP-{n:03d}",
            f"Подстанция скорой медицинской помощи № {n}",
            "ambulance",
            district,
            rcmk["code"],
            f"{_place(district)}, ул. Скорая, д. {n}",
        )
    rural = _scaled(FAP_FP, scale)
    fp_count = round(rural * FP_SHARE)
    for n in range(1, rural + 1):
        kind = "fp" if n > rural - fp_count else "fap"
        mo = mos[n % len(mos)]
        village = f"{FIRST_NAMES[n % len(FIRST_NAMES)]} Синтетическая-{n}"
        label = "Фельдшерско-акушерский пункт" if kind == "fap" else "Фельдшерский пункт"
        add(
            f"{kind.upper()}-{n:04d}",
            f"{label} ({village.lower().capitalize()})",
            kind,
            mo["district"],
            mo["code"],
            f"{_place(mo['district'])}, {village.lower()}, ул. Центральная, д. 1",
        )
    return sites


def _place(district: str) -> str:
    kind, number = district[3], int(district[4:])
    if kind == "G":
        return f"г. {CITIES[number - 1]}"
    return f"{DISTRICTS[number - 1]} район"


def _dc_devices(site: str) -> list[tuple[str, str, str, str]]:
    """(name suffix, role, platform, model) of a data-center site's equipment."""
    if site == "DC-PRIMARY":
        return [
            ("rtr1", "router", "eltex_esr", "ESR-1700"),
            ("rtr2", "router", "eltex_esr", "ESR-1700"),
            ("sw1", "switch", "eltex_mes", "MES5324"),
            ("sw2", "switch", "eltex_mes", "MES5324"),
            ("hw1", "vipnet_coordinator", "vipnet_coordinator_hw", "ViPNet Coordinator HW1000"),
            ("hw2", "vipnet_coordinator", "vipnet_coordinator_hw", "ViPNet Coordinator HW1000"),
            ("srv1", "server", "linux", "x86 server"),
            ("srv2", "server", "linux", "x86 server"),
            ("srv3", "server", "linux", "x86 server"),
            ("srv4", "server", "linux", "x86 server"),
            ("ups1", "ups", "apc_ups", "Smart-UPS 10kVA"),
            ("ups2", "ups", "apc_ups", "Smart-UPS 10kVA"),
        ]
    if site == "DC-RESERVE":
        return [
            ("rtr1", "router", "eltex_esr", "ESR-1200"),
            ("sw1", "switch", "eltex_mes", "MES5324"),
            ("hw1", "vipnet_coordinator", "vipnet_coordinator_hw", "ViPNet Coordinator HW1000"),
            ("hw2", "vipnet_coordinator", "vipnet_coordinator_hw", "ViPNet Coordinator HW1000"),
            ("srv1", "server", "linux", "x86 server"),
            ("srv2", "server", "linux", "x86 server"),
            ("ups1", "ups", "apc_ups", "Smart-UPS 6kVA"),
        ]
    return [
        ("rtr1", "router", "eltex_esr", "ESR-200"),
        ("hw1", "vipnet_coordinator", "vipnet_coordinator_va", "ViPNet Coordinator VA"),
        ("srv1", "server", "linux", "x86 server"),
    ]


#: Share of nodes whose renewal is late or due within weeks (the rest were renewed on schedule).
LAGGING_NODES: Final = 0.03


def _key_dates(rng: random.Random, today: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """(key set issued, key set valid until, certificate valid until) of a demo node.

    Key sets are valid for 3 years, user certificates for 1 year; most nodes were renewed on
    schedule, a few lag behind so the expiry calendar has something to show.
    """
    issued = today - dt.timedelta(days=rng.randint(30, 1000))
    keys_until = issued + dt.timedelta(days=3 * 365)
    if rng.random() < LAGGING_NODES:
        cert_until = today + dt.timedelta(days=rng.randint(-20, 40))
    else:
        cert_until = today + dt.timedelta(days=rng.randint(100, 365))
    return issued, keys_until, cert_until


def _devices_and_nodes(
    data: DemoData, sites: list[_Site], rng: random.Random, addr: _Addresses, today: dt.date
) -> None:
    data.add(
        "vipnet-networks",
        {
            "number": 1988,
            "name": "ЗСПД Краснодарского края (ViPNet 1988)",
            "admin_organization": "ORG-MIAC",
        },
    )
    node_number = 0

    def node(name: str, kind: str, device: str | None) -> str:
        nonlocal node_number
        node_number += 1
        vipnet_id = f"0x07c4{node_number:04x}"
        issued, keys_until, cert_until = _key_dates(rng, today)
        record = {
            "vipnet_id": vipnet_id,
            "network": 1988,
            "name": name,
            "kind": kind,
            "software_version": "4.5.3-3" if kind == "coordinator" else "4.4.2-14",
            "device": device,
            "keys_issued_on": issued,
            "keys_valid_until": keys_until,
            "certificate_valid_until": cert_until,
            "enabled": True,
        }
        data.add("vipnet-nodes", record)
        return vipnet_id

    serial = 0
    for site in sites:
        if site.kind == "other":
            continue
        if site.kind.startswith("dc_"):
            equipment = _dc_devices(site.code)
        elif site.kind in ("fap", "fp"):
            equipment = [("rtr", "router", "mikrotik_routeros", "hAP ac lite LTE")]
        else:
            equipment = [
                ("rtr", "router", "eltex_esr", "ESR-20"),
                ("hw", "vipnet_coordinator", "vipnet_coordinator_hw", "ViPNet Coordinator HW100"),
            ]
        for suffix, role, platform, model in equipment:
            serial += 1
            name = f"{site.code.lower()}-{suffix}"
            vendor = {
                "eltex_esr": "Eltex",
                "eltex_mes": "Eltex",
                "mikrotik_routeros": "MikroTik",
                "apc_ups": "APC",
                "linux": "Aquarius",
            }.get(platform, "ИнфоТеКС")
            data.add(
                "devices",
                {
                    "name": name,
                    "site": site.code,
                    "role": role,
                    "vendor": vendor,
                    "model": model,
                    "platform": platform,
                    "mgmt_address": addr.next(),
                    "snmp_profile": "v3-dc" if site.kind.startswith("dc_") else "v2c-region",
                    "serial": f"SN{serial:07d}",
                    "status": "active",
                    "synthetic": True,
                },
            )
            if role == "vipnet_coordinator":
                node(f"Координатор {site.code} {suffix}", "coordinator", name)


def _workstations(
    data: DemoData, sites: list[_Site], scale: float, rng: random.Random, today: dt.date
) -> None:
    mo_sites = [s for s in sites if s.kind in ("mo_main", "mo_unit", "ambulance")]
    total = _scaled(MO_AWPS, scale)
    # Head buildings hold more AWPs than units and substations: weight 6 / 3 / 1.
    weights = [6 if s.kind == "mo_main" else 3 if s.kind == "mo_unit" else 1 for s in mo_sites]
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    for i in range(total - sum(shares)):
        shares[i % len(shares)] += 1
    inventory = 0
    for site, count in zip(mo_sites, shares, strict=True):
        for n in range(1, count + 1):
            inventory += 1
            data.add(
                "workstations",
                {
                    "hostname": f"arm-{site.code.lower()}-{n:03d}",
                    "site": site.code,
                    "inventory_number": f"ИН-{inventory:06d}",
                    "os": rng.choice(OS_CHOICES),
                    "protected_network": True,
                    "vipnet_node": None,
                    "synthetic": True,
                },
            )
    clients: list[Record] = []
    next_number = len(data.records["vipnet-nodes"])
    for site in (s for s in sites if s.kind in ("fap", "fp")):
        inventory += 1
        next_number += 1
        vipnet_id = f"0x07c4{next_number:04x}"
        issued, keys_until, cert_until = _key_dates(rng, today)
        clients.append(
            {
                "vipnet_id": vipnet_id,
                "network": 1988,
                "name": f"АРМ {site.code}",
                "kind": "client",
                "software_version": "4.4.2-14",
                "device": None,
                "keys_issued_on": issued,
                "keys_valid_until": keys_until,
                "certificate_valid_until": cert_until,
                "enabled": True,
            }
        )
        data.add(
            "workstations",
            {
                "hostname": f"arm-{site.code.lower()}-001",
                "site": site.code,
                "inventory_number": f"ИН-{inventory:06d}",
                "os": rng.choice(OS_CHOICES),
                "protected_network": True,
                "vipnet_node": vipnet_id,
                "synthetic": True,
            },
        )
    data.records["vipnet-nodes"].extend(clients)


def _channels(data: DemoData, sites: list[_Site], rng: random.Random, addr: _Addresses) -> None:
    contract_no = 0

    def channel(
        key: str,
        name: str,
        provider: str,
        medium: str,
        a: str,
        z: str,
        role: str,
        group: str,
        mbps: int,
        sla: str,
        a_dev: str | None,
        z_dev: str | None,
        year: int = 2024,
    ) -> None:
        nonlocal contract_no
        contract_no += 1
        data.add(
            "channels",
            {
                "key": key,
                "name": name,
                "provider": provider,
                "contract_number": f"{contract_no:04d}-{year}/СВ",
                "contract_date": dt.date(year, 12, 20 - contract_no % 10),
                "bandwidth_mbps": mbps,
                "medium": medium,
                "a_site": a,
                "a_device": a_dev,
                "a_interface": "ge0/0" if role == "primary" else "ge0/1",
                "a_address": addr.next(),
                "z_site": z,
                "z_device": z_dev,
                "z_interface": None,
                "z_address": addr.next(),
                "role": role,
                "redundancy_group": group,
                "sla_target_pct": sla,
                "status": "active",
                "synthetic": True,
            },
        )

    p1, p2, p3 = (p[0] for p in PROVIDERS)
    channel(
        "CH-PRIMARY-UPLINK-1",
        "Канал связи основного РИР (основной)",
        p1,
        "fiber",
        "DC-PRIMARY",
        "POP-YUGSVYAZ",
        "primary",
        "DC-PRIMARY-UPLINK",
        1000,
        "99.9",
        "dc-primary-rtr1",
        None,
    )
    channel(
        "CH-PRIMARY-UPLINK-2",
        "Канал связи основного РИР (резервный)",
        p2,
        "fiber",
        "DC-PRIMARY",
        "POP-KUBANTELECOM",
        "backup",
        "DC-PRIMARY-UPLINK",
        1000,
        "99.5",
        "dc-primary-rtr2",
        None,
    )
    channel(
        "CH-RESERVE-UPLINK-1",
        "Канал связи резервного РИР (основной)",
        p2,
        "fiber",
        "DC-RESERVE",
        "POP-KUBANTELECOM",
        "primary",
        "DC-RESERVE-UPLINK",
        1000,
        "99.9",
        "dc-reserve-rtr1",
        None,
    )
    channel(
        "CH-RESERVE-UPLINK-2",
        "Канал связи резервного РИР (резервный)",
        p3,
        "radio",
        "DC-RESERVE",
        "POP-STEPLINK",
        "backup",
        "DC-RESERVE-UPLINK",
        300,
        "99.0",
        "dc-reserve-rtr1",
        None,
    )
    channel(
        "CH-INTER-RIR",
        "Канал связи между основным и резервным РИР (защищён ViPNet)",
        p1,
        "fiber",
        "DC-PRIMARY",
        "DC-RESERVE",
        "primary",
        "INTER-RIR",
        10000,
        "99.95",
        "dc-primary-hw1",
        "dc-reserve-hw1",
    )
    for site in sites:
        if site.kind in ("mo_main", "mo_unit", "ambulance"):
            provider = (p1, p2)[rng.random() < 0.4]
            group = f"{site.code}-WAN"
            channel(
                f"CH-{site.code}-1",
                f"ЗСПД: {site.code} — основной РИР",
                provider,
                rng.choice(("fiber", "fiber", "copper")),
                site.code,
                "DC-PRIMARY",
                "primary",
                group,
                rng.choice((50, 100, 100, 200)),
                "99.5",
                f"{site.code.lower()}-rtr",
                "dc-primary-rtr1",
            )
            if site.kind == "mo_main":
                channel(
                    f"CH-{site.code}-2",
                    f"ЗСПД: {site.code} — резерв LTE",
                    p3,
                    "lte",
                    site.code,
                    "DC-PRIMARY",
                    "backup",
                    group,
                    20,
                    "98.0",
                    f"{site.code.lower()}-rtr",
                    "dc-primary-rtr2",
                )
        elif site.kind in ("fap", "fp"):
            group = f"{site.code}-WAN"
            medium = rng.choices(("copper", "fiber", "radio", "satellite", "lte"), (4, 3, 1, 1, 2))[
                0
            ]
            channel(
                f"CH-{site.code}-1",
                f"{site.code} — основной РИР",
                (p1, p3)[medium == "lte"],
                medium,
                site.code,
                "DC-PRIMARY",
                "primary",
                group,
                2 if medium == "satellite" else rng.choice((10, 20, 50)),
                "98.0",
                f"{site.code.lower()}-rtr",
                "dc-primary-rtr1",
            )
            if medium != "lte" and rng.random() < 0.6:
                channel(
                    f"CH-{site.code}-2",
                    f"{site.code} — резерв LTE",
                    p3,
                    "lte",
                    site.code,
                    "DC-PRIMARY",
                    "backup",
                    group,
                    10,
                    "95.0",
                    f"{site.code.lower()}-rtr",
                    "dc-primary-rtr2",
                )


_EXECUTORS: Final = "Трефилов Н.Т., Корогод М.А. (ГБУЗ МИАЦ)"


def _cp(
    code: str,
    title: str,
    evidence: str,
    *,
    once: dt.date | None = None,
    monthly: tuple[dt.date, dt.date] | None = None,
    quarterly: tuple[dt.date, dt.date] | None = None,
    yearly: tuple[int, int, dt.date, dt.date] | None = None,
    responsible: str = _EXECUTORS,
    notes: str | None = None,
) -> Record:
    record: Record = {
        "code": code,
        "title": title,
        "responsible": responsible,
        "evidence": evidence,
        "control_level": "РРП",
        "notes": notes,
    }
    if once:
        record |= {"recurrence": "once", "due_date": once}
    elif monthly:
        record |= {
            "recurrence": "monthly",
            "due_day": 15,
            "valid_from": monthly[0],
            "valid_until": monthly[1],
        }
    elif quarterly:
        record |= {
            "recurrence": "quarterly",
            "due_day": 15,
            "valid_from": quarterly[0],
            "valid_until": quarterly[1],
        }
    elif yearly:
        record |= {
            "recurrence": "yearly",
            "due_day": yearly[0],
            "due_month": yearly[1],
            "valid_from": yearly[2],
            "valid_until": yearly[3],
        }
    return record


def control_points() -> list[Record]:
    """The infrastructure control points of the Krasnodar passport (tasks 1.1.1, 1.1.2, 1.2.3)."""
    d = dt.date
    act_in = "Акты ввода в эксплуатацию"
    act_srv = "Акты оказания услуг"
    report = "Отчёт о функционировании"
    y2020_24 = (d(2020, 1, 1), d(2024, 12, 31))
    return [
        _cp("1.1.1.1.4", "Создан и функционирует резервный РИР", act_in, once=d(2019, 12, 16)),
        _cp("1.1.1.2.4", "Модернизирован основной РИР", act_in, once=d(2019, 12, 16)),
        _cp("1.1.1.3.4", "Модернизирован основной и резервный РИР", act_in, once=d(2022, 12, 1)),
        _cp(
            "1.1.1.4.4",
            "Осуществляется техническое обслуживание инженерной инфраструктуры основного РИР",
            report,
            quarterly=(d(2019, 3, 1), d(2019, 12, 31)),
        ),
        _cp(
            "1.1.1.5.4",
            "Осуществляется техническое обслуживание инженерной инфраструктуры "
            "основного и резервного РИР",
            report,
            quarterly=y2020_24,
        ),
        _cp(
            "1.1.1.6",
            "Обеспечены вычислительные мощности для подсистем регионального сегмента "
            "ЕГИСЗ Краснодарского края (основная, резервная, тестовая площадка)",
            report,
            once=d(2024, 12, 31),
            responsible="Солоненко Т.А.",
        ),
        _cp(
            "1.1.2.1.4",
            "Обеспечены каналы связи основного РИР",
            act_srv,
            monthly=(d(2019, 3, 1), d(2019, 12, 31)),
        ),
        _cp(
            "1.1.2.2.4",
            "Обеспечены каналы связи резервного РИР",
            act_srv,
            monthly=(d(2019, 9, 1), d(2019, 12, 31)),
            notes="Паспорт: первый акт 15.10.2019, хотя услуга оказывается с 01.11.2019",
        ),
        _cp(
            "1.1.2.3.4",
            "Обеспечены каналы связи основного и резервного РИР",
            act_srv,
            monthly=y2020_24,
        ),
        _cp(
            "1.1.2.4.4",
            "Обеспечен канал связи между основным и резервным РИР",
            act_srv,
            once=d(2019, 12, 25),
        ),
        _cp(
            "1.1.2.5.4",
            "Обеспечен канал связи между основным и резервным РИР (2020–2024)",
            act_srv,
            monthly=y2020_24,
        ),
        _cp(
            "1.1.2.6.4",
            "Обеспечена защита канала связи между основным и резервным РИР",
            act_in,
            once=d(2019, 12, 1),
        ),
        _cp(
            "1.1.2.7.4",
            "Осуществляется централизованное сопровождение узлов сети ViPNet 1988",
            act_srv,
            monthly=(d(2019, 4, 1), d(2019, 12, 31)),
        ),
        _cp(
            "1.1.2.8.4",
            "Осуществляется централизованное сопровождение узлов сети ViPNet 1988 (2020–2024)",
            act_srv,
            monthly=y2020_24,
        ),
        _cp("1.1.2.9.4", "Проведена аттестация", act_srv, once=d(2019, 12, 16)),
        _cp("1.1.2.10.4", "Проведена переаттестация", act_srv, once=d(2022, 12, 16)),
        _cp(
            "1.1.2.11",
            "Обеспечена защищенная сеть передачи данных от регионального ЦОД до "
            "медицинских организаций Краснодарского края",
            report,
            once=d(2024, 12, 31),
            responsible="Солоненко Т.А.",
        ),
        _cp(
            "1.2.3.1.4",
            "Закуплены и введены в эксплуатацию программно-технические средства "
            "ЗСПД, ТВСП МО подключены к защищенной сети",
            act_in,
            yearly=(1, 11, d(2019, 1, 1), d(2024, 12, 31)),
            responsible="Минздрав Краснодарского края, ГБУЗ МИАЦ, медицинские организации",
        ),
    ]


def _compliance(data: DemoData, scale: float, today: dt.date) -> None:
    d = dt.date
    data.add(
        "attestations",
        {
            "number": "АС-23-2019-001",
            "scope": "regional_system",
            "object_name": GIS_NAME,
            "organization": "ORG-MIAC",
            "kind": "attestation",
            "issued_on": d(2019, 12, 16),
            "valid_until": d(2022, 12, 16),
            "issuer": "ООО «ЗащитаИнфо» (синтетический орган)",
            "notes": "КТ 1.1.2.9.4; номер и орган синтетические",
        },
    )
    data.add(
        "attestations",
        {
            "number": "АС-23-2022-001",
            "scope": "regional_system",
            "object_name": GIS_NAME,
            "organization": "ORG-MIAC",
            "kind": "reattestation",
            "issued_on": d(2022, 12, 16),
            "valid_until": d(2025, 12, 16),
            "issuer": "ООО «ЗащитаИнфо» (синтетический орган)",
            "notes": "КТ 1.1.2.10.4; переаттестация раз в 3 года; номер и орган синтетические",
        },
    )
    data.records["control-points"] = control_points()

    def plan(values: Mapping[int, float], counts: bool) -> dict[str, Any]:
        return {f"plan_{y}": (round(v * scale) if counts else v) for y, v in values.items()}

    tvsp = {2019: 22975, 2020: 23865, 2021: 24795, 2022: 30994, 2023: 30994, 2024: 30994}
    fap = {2019: 0, 2020: 150, 2021: 561, 2022: 701, 2023: 701, 2024: 701}
    share = {y: round((tvsp[y] + fap[y]) * 100 / 31695, 1) for y in tvsp}
    base = d(2018, 10, 31)
    for record in (
        {
            "code": "2.2",
            "title": "Количество АРМ в государственных и муниципальных МО",
            "unit": "шт.",
            "base_value": round(19552 * scale),
            "base_date": base,
            "fact_query": "awp_total",
            **plan(
                {2019: 23001, 2020: 26679, 2021: 31695, 2022: 31695, 2023: 31695, 2024: 31695}, True
            ),
        },
        {
            "code": "2.3",
            "title": "Доля АРМ медицинских работников, подключённых к защищенной сети "
            "передачи данных (ViPNet 1988)",
            "unit": "%",
            "base_value": 61.7,
            "base_date": base,
            "fact_query": "awp_protected_share",
            **plan(share, False),
        },
        {
            "code": "2.3-tvsp",
            "title": "АРМ ТВСП МО, подключённые к ЗСПД",
            "unit": "шт.",
            "base_value": round(19543 * scale),
            "base_date": base,
            "fact_query": "awp_protected_tvsp",
            **plan(tvsp, True),
        },
        {
            "code": "2.3-fap",
            "title": "АРМ ФАП и ФП, подключённые к ЗСПД",
            "unit": "шт.",
            "base_value": 0,
            "base_date": base,
            "fact_query": "awp_protected_fap",
            **plan(fap, True),
        },
        {
            "code": "2.4",
            "title": "Количество ФАП и ФП, подключённых к сети Интернет",
            "unit": "шт.",
            "base_value": round(9 * scale),
            "base_date": base,
            "fact_query": "fap_connected",
            **plan({2019: 26, 2020: 181, 2021: 701, 2022: 701, 2023: 701, 2024: 701}, True),
        },
    ):
        data.add("indicators", record)
    now = dt.datetime.combine(today, dt.time(0, 0))
    data.add(
        "maintenance",
        {
            "key": f"MW-{today:%Y%m%d}-RESERVE",
            "objects": "site:DC-RESERVE; device:dc-reserve-rtr1; channel:CH-RESERVE-UPLINK-1",
            "starts_at": (now + dt.timedelta(days=7, hours=22)).isoformat(timespec="minutes"),
            "ends_at": (now + dt.timedelta(days=8, hours=2)).isoformat(timespec="minutes"),
            "reason": "Плановое обновление ПО маршрутизатора резервного РИР (синтетическое окно)",
        },
    )


ORDER: Final = (
    "regions", "districts", "organizations", "sites", "devices", "vipnet-networks",
    "vipnet-nodes", "workstations", "channels", "attestations", "control-points", "indicators",
    "maintenance",
)  # fmt: skip


def load(
    engine: Engine,
    *,
    scale: float,
    actor: str,
    zone: dt.tzinfo,
    today: dt.date | None = None,
    progress: Callable[[ImportResult], None] | None = None,
) -> list[ImportResult]:
    """Generate the demo region and import it kind by kind through the regular importer."""
    data = build(scale, today)
    results = []
    for kind in ORDER:
        records = data.records.get(kind, [])
        result = import_records(
            engine, kind, records, source=f"demo:krasnodar scale={scale}", actor=actor, zone=zone
        )
        results.append(result)
        if progress:
            progress(result)
    return results
