"""The demo region: the Krasnodar passport's figures at scale 1, and a small load into the DB.

Figures: /work/shared/domain/001-krasnodar-passport.md, sections 2.1, 3.1, 3.2, 3.6 and 6.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cmdb import demo
from cmdb.kinds import KINDS
from cmdb.models import AuditEntry, ControlPoint
from cmdb.planning import indicators, schedule_of
from cmdb.schedule import Schedule, iter_occurrences

TODAY = dt.date(2026, 11, 23)
ZONE = ZoneInfo("Europe/Moscow")
SMALL = 0.05
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
MO_KINDS = {"mo_main", "mo_unit", "ambulance"}
RURAL_KINDS = {"fap", "fp"}
d = dt.date


@pytest.fixture(scope="module")
def full() -> dict[str, list[dict[str, Any]]]:
    """The demo at scale 1 (no database)."""
    return demo.build(1.0, today=TODAY).records


def by_key(records: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {record[key]: record for record in records}


# --- the passport's figures at scale 1 ----------------------------------------------------------


def test_44_municipal_formations(full: dict[str, list[dict[str, Any]]]) -> None:
    assert len(full["districts"]) == 44
    assert len({r["code"] for r in full["districts"]}) == 44
    assert {r["region"] for r in full["districts"]} == {"23"}


def test_site_counts(full: dict[str, list[dict[str, Any]]]) -> None:
    kinds = Counter(site["kind"] for site in full["sites"])
    assert kinds["fap"] + kinds["fp"] == 701
    assert kinds["mo_main"] + kinds["mo_unit"] + kinds["ambulance"] == 933  # 1634 ТВСП − 701
    assert kinds["ambulance"] == 45
    assert sum(kinds[k] for k in MO_KINDS | RURAL_KINDS) == 1634  # structural units (ТВСП)
    assert kinds["dc_primary"] == kinds["dc_reserve"] == kinds["dc_test"] == 1


def test_168_medical_organizations(full: dict[str, list[dict[str, Any]]]) -> None:
    """Indicator 2.7's denominator: 168 legal entities."""
    assert sum(org["kind"] == "mo" for org in full["organizations"]) == 168
    assert {"MO-NIIKKB1", "MO-KOD1", "ORG-MIAC"} <= {org["code"] for org in full["organizations"]}


def test_three_data_center_sites(full: dict[str, list[dict[str, Any]]]) -> None:
    sites = by_key(full["sites"], "code")
    assert sites["DC-PRIMARY"]["kind"] == "dc_primary"
    assert sites["DC-RESERVE"]["kind"] == "dc_reserve"
    assert sites["DC-TEST"]["kind"] == "dc_test"
    assert sum(site["kind"].startswith("dc_") for site in full["sites"]) == 3


def test_workstation_counts(full: dict[str, list[dict[str, Any]]]) -> None:
    """31,695 AWPs (indicator 2.2) = 30,994 at MO units + 701 at FAP/FP (indicator 2.3)."""
    site_kind = {site["code"]: site["kind"] for site in full["sites"]}
    workstations = full["workstations"]
    assert len(workstations) == 31_695
    assert sum(site_kind[w["site"]] in MO_KINDS for w in workstations) == 30_994
    assert sum(site_kind[w["site"]] in RURAL_KINDS for w in workstations) == 701
    assert all(w["protected_network"] is True for w in workstations)
    # One AWP per FAP/FP, as the passport's arithmetic implies.
    rural_sites = [w["site"] for w in workstations if site_kind[w["site"]] in RURAL_KINDS]
    assert len(set(rural_sites)) == 701


def test_every_fap_workstation_is_a_vipnet_client(full: dict[str, list[dict[str, Any]]]) -> None:
    site_kind = {site["code"]: site["kind"] for site in full["sites"]}
    nodes = by_key(full["vipnet-nodes"], "vipnet_id")
    rural = [w for w in full["workstations"] if site_kind[w["site"]] in RURAL_KINDS]
    bound = [w["vipnet_node"] for w in rural]
    assert None not in bound
    assert len(set(bound)) == len(bound)  # one node per workstation
    assert all(nodes[node]["kind"] == "client" for node in bound)


def test_vipnet_ids_are_in_network_1988_and_unique(full: dict[str, list[dict[str, Any]]]) -> None:
    ids = [node["vipnet_id"] for node in full["vipnet-nodes"]]
    assert all(vipnet_id.startswith("0x07c4") for vipnet_id in ids)  # 0x07C4 == 1988
    assert all(len(vipnet_id) == 10 for vipnet_id in ids)
    assert len(set(ids)) == len(ids)
    assert {node["network"] for node in full["vipnet-nodes"]} == {1988}
    assert [n["number"] for n in full["vipnet-networks"]] == [1988]


def test_data_center_channels(full: dict[str, list[dict[str, Any]]]) -> None:
    channels = by_key(full["channels"], "key")
    up1, up2 = channels["CH-PRIMARY-UPLINK-1"], channels["CH-PRIMARY-UPLINK-2"]
    assert (up1["role"], up2["role"]) == ("primary", "backup")
    assert up1["redundancy_group"] == up2["redundancy_group"] is not None
    assert up1["a_site"] == up2["a_site"] == "DC-PRIMARY"

    res1, res2 = channels["CH-RESERVE-UPLINK-1"], channels["CH-RESERVE-UPLINK-2"]
    assert (res1["role"], res2["role"]) == ("primary", "backup")
    assert res1["redundancy_group"] == res2["redundancy_group"] is not None
    assert res1["redundancy_group"] != up1["redundancy_group"]
    assert res1["a_site"] == res2["a_site"] == "DC-RESERVE"

    inter = channels["CH-INTER-RIR"]
    assert {inter["a_site"], inter["z_site"]} == {"DC-PRIMARY", "DC-RESERVE"}


def test_attestation_and_reattestation(full: dict[str, list[dict[str, Any]]]) -> None:
    issued = sorted((a["issued_on"], a["kind"]) for a in full["attestations"])
    assert issued == [(d(2019, 12, 16), "attestation"), (d(2022, 12, 16), "reattestation")]


def test_monthly_and_one_off_control_points(full: dict[str, list[dict[str, Any]]]) -> None:
    points = by_key(full["control-points"], "code")
    for code in ("1.1.2.3.4", "1.1.2.8.4"):
        assert points[code]["recurrence"] == "monthly"
        assert points[code]["due_day"] == 15
    assert points["1.1.2.9.4"]["recurrence"] == "once"
    assert points["1.1.2.9.4"]["due_date"] == d(2019, 12, 16)


def demo_schedule(code: str) -> Schedule:
    record = by_key(demo.control_points(), "code")[code]
    fields = ("recurrence", "due_date", "due_day", "due_month", "valid_from", "valid_until")
    return Schedule(**{name: record.get(name) for name in fields})


@pytest.mark.parametrize(
    ("code", "first", "last", "count"),
    [
        ("1.1.1.1.4", d(2019, 12, 16), d(2019, 12, 16), 1),
        ("1.1.1.2.4", d(2019, 12, 16), d(2019, 12, 16), 1),
        ("1.1.1.3.4", d(2022, 12, 1), d(2022, 12, 1), 1),
        ("1.1.1.4.4", d(2019, 4, 15), d(2020, 1, 15), 4),
        ("1.1.1.5.4", d(2020, 4, 15), d(2025, 1, 15), 20),
        ("1.1.1.6", d(2024, 12, 31), d(2024, 12, 31), 1),
        ("1.1.2.1.4", d(2019, 4, 15), d(2020, 1, 15), 10),
        ("1.1.2.2.4", d(2019, 10, 15), d(2020, 1, 15), 4),  # 15.10.2019 as written
        ("1.1.2.3.4", d(2020, 2, 15), d(2025, 1, 15), 60),
        ("1.1.2.4.4", d(2019, 12, 25), d(2019, 12, 25), 1),
        ("1.1.2.5.4", d(2020, 2, 15), d(2025, 1, 15), 60),
        ("1.1.2.6.4", d(2019, 12, 1), d(2019, 12, 1), 1),
        ("1.1.2.7.4", d(2019, 5, 15), d(2020, 1, 15), 9),
        ("1.1.2.8.4", d(2020, 2, 15), d(2025, 1, 15), 60),
        ("1.1.2.9.4", d(2019, 12, 16), d(2019, 12, 16), 1),
        ("1.1.2.10.4", d(2022, 12, 16), d(2022, 12, 16), 1),
        ("1.1.2.11", d(2024, 12, 31), d(2024, 12, 31), 1),
        ("1.2.3.1.4", d(2019, 11, 1), d(2024, 11, 1), 6),
    ],
)
def test_demo_control_points_match_the_passport(
    code: str, first: dt.date, last: dt.date, count: int
) -> None:
    """Every demo control point's due dates, against the passport's section 3.6."""
    dues = [occ.due for occ in iter_occurrences(demo_schedule(code))]
    assert (dues[0], dues[-1], len(dues)) == (first, last, count)


def test_indicator_plans(full: dict[str, list[dict[str, Any]]]) -> None:
    plans = by_key(full["indicators"], "code")
    assert plans["2.3-tvsp"]["plan_2022"] == 30_994
    assert plans["2.3-fap"]["plan_2021"] == 561
    assert plans["2.2"]["plan_2021"] == 31_695
    assert plans["2.4"]["plan_2020"] == 181


def test_build_is_deterministic(full: dict[str, list[dict[str, Any]]]) -> None:
    assert demo.build(1.0, today=TODAY).records == full


def test_natural_keys_are_unique_at_full_scale(full: dict[str, list[dict[str, Any]]]) -> None:
    for kind, records in full.items():
        keys = [record[KINDS[kind].key] for record in records]
        duplicates = [key for key, n in Counter(keys).items() if n > 1]
        assert duplicates == [], kind


def test_all_addresses_are_on_loopback(full: dict[str, list[dict[str, Any]]]) -> None:
    """The demo lab simulates devices on 127/8: no demo address may reach a real network."""
    addresses = [device["mgmt_address"] for device in full["devices"]]
    for channel in full["channels"]:
        addresses += [channel["a_address"], channel["z_address"]]
    assert None not in addresses
    assert all(ipaddress.ip_address(address) in LOOPBACK for address in addresses)
    assert len(set(addresses)) == len(addresses)


def test_scale_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="scale"):
        demo.build(0, today=TODAY)


# --- loading into the database ------------------------------------------------------------------


def load_small(engine: Engine) -> list[Any]:
    return demo.load(engine, scale=SMALL, actor="tester", zone=ZONE, today=TODAY)


def db_count(engine: Engine, kind: str) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(KINDS[kind].model)) or 0)


def test_load_writes_every_built_record(engine: Engine) -> None:
    built = demo.build(SMALL, today=TODAY).records
    results = load_small(engine)
    assert [r.kind for r in results] == list(demo.ORDER)
    for result in results:
        expected = len(built[result.kind])
        assert expected > 0
        assert (result.created, result.updated) == (expected, 0), result.kind
        assert db_count(engine, result.kind) == expected, result.kind


def test_reload_is_idempotent(engine: Engine) -> None:
    load_small(engine)
    counts = {kind: db_count(engine, kind) for kind in demo.ORDER}
    with Session(engine) as session:
        audit_rows = session.scalar(select(func.count(AuditEntry.id)))

    again = load_small(engine)
    assert [(r.kind, r.created, r.updated) for r in again] == [(kind, 0, 0) for kind in demo.ORDER]
    assert all(r.unchanged == counts[r.kind] for r in again)
    assert {kind: db_count(engine, kind) for kind in demo.ORDER} == counts
    with Session(engine) as session:
        assert session.scalar(select(func.count(AuditEntry.id))) == audit_rows


def test_load_is_audited(engine: Engine) -> None:
    built = demo.build(SMALL, today=TODAY).records
    load_small(engine)
    with Session(engine) as session:
        entries = session.scalars(select(AuditEntry)).all()
    assert entries
    assert {entry.actor for entry in entries} == {"tester"}
    assert all((entry.source or "").startswith("demo:") for entry in entries)
    actions = Counter(entry.action for entry in entries)
    assert actions["create"] == sum(len(records) for records in built.values())
    # One summary entry per imported kind.
    imports = [entry for entry in entries if entry.action == "import"]
    assert sorted(entry.entity for entry in imports) == sorted(
        KINDS[kind].entity for kind in demo.ORDER
    )


def test_protected_network_share_meets_the_2024_plan(engine: Engine) -> None:
    load_small(engine)
    statuses = {status.code: status for status in indicators(engine, 2024)}
    share = statuses["2.3"]
    assert share.plan_year == 2024
    assert share.plan == share.fact == 100
    assert share.met is True
    # At this scale every counted indicator is exactly on plan as well.
    for code in ("2.2", "2.3-tvsp", "2.3-fap", "2.4"):
        assert statuses[code].fact == statuses[code].plan, code


def test_loaded_control_points_give_the_passport_calendar(engine: Engine) -> None:
    load_small(engine)
    with Session(engine) as session:
        loaded = {cp.code: schedule_of(cp) for cp in session.scalars(select(ControlPoint))}
    assert set(loaded) == {record["code"] for record in demo.control_points()}
    for code, schedule in loaded.items():
        assert list(iter_occurrences(schedule)) == list(iter_occurrences(demo_schedule(code)))
