"""Database constraints of every CMDB entity, on the real migrated schema (SQLite or PostgreSQL).

Each failing case starts from a row that the database accepts (``test_fresh_row_is_accepted``
proves it) and changes one thing, so an ``IntegrityError`` can only come from the constraint the
case is about; the error message is checked to name that constraint (or its column).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from cmdb.kinds import KINDS
from cmdb.models import (
    Attestation,
    AuditEntry,
    Base,
    Channel,
    ControlPoint,
    Device,
    District,
    Indicator,
    MaintenanceWindow,
    Organization,
    Region,
    Site,
    VipnetNetwork,
    VipnetNode,
    Workstation,
)
from tests.factories import control_point, load, make_world

UTC = dt.UTC
MOSCOW = ZoneInfo("Europe/Moscow")

#: Natural-key attribute of each model (``Site`` → ``code``), as imports match on it.
NATURAL_KEY: dict[type[Base], str] = {spec.model: spec.key for spec in KINDS.values()}

TIMESTAMPED = (
    Region,
    District,
    Organization,
    Site,
    Device,
    VipnetNetwork,
    VipnetNode,
    Workstation,
    Channel,
    Attestation,
    ControlPoint,
    Indicator,
    MaintenanceWindow,
)


@dataclass(frozen=True)
class Ref:
    """The surrogate id of an existing row, looked up by its natural key when the test runs."""

    model: type[Base]
    key: Any


class World:
    """The factories' tiny region plus one attestation, control point, indicator and window."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def id(self, model: type[Base], key: Any) -> int:
        column = getattr(model, NATURAL_KEY[model])
        with Session(self.engine) as session:
            found = session.scalar(select(model.id).where(column == key))
        assert found is not None, f"{model.__name__} {key!r} is not in the world"
        return int(found)

    def resolve(self, value: Any) -> Any:
        return self.id(value.model, value.key) if isinstance(value, Ref) else value

    def new_row(self, model: type[Base], **overrides: Any) -> dict[str, Any]:
        """Attributes of a row of ``model`` that clashes with nothing in the world."""
        rows: dict[type[Base], dict[str, Any]] = {
            Region: {"code": "NEW-REGION", "name": "Новый регион"},
            District: {
                "code": "NEW-DISTRICT",
                "name": "Новый район",
                "region_id": Ref(Region, "23"),
            },
            Organization: {
                "code": "NEW-ORG",
                "kind": "mo",
                "short_name": "ЦРБ № 2",
                "full_name": "Центральная районная больница № 2",
                "frmo_oid": "1.2.643.5.1.13.13.12.2.23.2",
                "district_id": Ref(District, "23-R01"),
            },
            Site: {
                "code": "NEW-SITE",
                "name": "ФАП хутор Второй",
                "kind": "fap",
                "district_id": Ref(District, "23-R01"),
                "organization_id": Ref(Organization, "MO-1"),
                "latitude": 45.0,
                "longitude": 39.0,
            },
            Device: {
                "name": "new-rtr",
                "site_id": Ref(Site, "FAP-0001"),
                "role": "router",
                "platform": "mikrotik_routeros",
                "status": "active",
            },
            VipnetNetwork: {"number": 1989, "name": "ViPNet 1989"},
            VipnetNode: {
                "vipnet_id": "0x07c40003",
                "network_id": Ref(VipnetNetwork, 1988),
                "name": "АРМ новый",
                "kind": "client",
            },
            Workstation: {
                "hostname": "arm-new-001",
                "site_id": Ref(Site, "MO-1-M"),
                "inventory_number": "ИН-NEW",
                "protected_network": True,
            },
            Channel: {
                "key": "CH-NEW-1",
                "medium": "fiber",
                "a_site_id": Ref(Site, "MO-1-M"),
                "z_site_id": Ref(Site, "DC-PRIMARY"),
                "role": "primary",
                "bandwidth_mbps": Decimal(100),
                "sla_target_pct": Decimal("99.5"),
            },
            Attestation: {
                "number": "АС-NEW",
                "scope": "dc_segment",
                "object_name": "Сегмент ЦОД",
                "kind": "attestation",
                "issued_on": dt.date(2022, 12, 16),
                "valid_until": dt.date(2025, 12, 16),
            },
            ControlPoint: {
                "code": "1.1.2.8.4",
                "title": "Сопровождение узлов сети ViPNet 1988",
                "recurrence": "monthly",
                "due_day": 15,
                "valid_from": dt.date(2020, 1, 1),
                "valid_until": dt.date(2024, 12, 31),
            },
            Indicator: {"code": "2.4", "title": "ФАП и ФП в Интернете", "unit": "шт.", "plan": {}},
            MaintenanceWindow: {
                "key": "MW-NEW",
                "objects": [{"kind": "site", "key": "FAP-0001"}],
                "starts_at": dt.datetime(2026, 12, 1, 19, 0, tzinfo=UTC),
                "ends_at": dt.datetime(2026, 12, 1, 23, 0, tzinfo=UTC),
                "reason": "Замена маршрутизатора",
            },
            AuditEntry: {
                "actor": "tester",
                "action": "update",
                "entity": "site",
                "entity_key": "FAP-0001",
            },
        }
        values = {**rows[model], **overrides}
        return {name: self.resolve(value) for name, value in values.items()}


@pytest.fixture
def world(engine: Engine) -> World:
    make_world(engine)
    load(engine, "control-points", [control_point()])
    load(
        engine,
        "attestations",
        [
            {
                "number": "АС-23-2019-001",
                "scope": "regional_system",
                "object_name": "ГИС в сфере здравоохранения",
                "organization": "ORG-MIAC",
                "kind": "attestation",
                "issued_on": dt.date(2019, 12, 16),
                "valid_until": dt.date(2022, 12, 16),
            }
        ],
    )
    load(
        engine,
        "indicators",
        [{"code": "2.3", "title": "Доля АРМ в ЗСПД", "unit": "%", "plan_2022": 100}],
    )
    load(
        engine,
        "maintenance",
        [
            {
                "key": "MW-1",
                "objects": "site:DC-PRIMARY",
                "starts_at": "2026-11-30T22:00",
                "ends_at": "2026-12-01T02:00",
                "reason": "Плановые работы",
            }
        ],
    )
    return World(engine)


def insert_error(engine: Engine, model: type[Base], values: dict[str, Any]) -> str:
    """Insert one row in a fresh session, expect the database to refuse it, return its message."""
    with Session(engine) as session:
        session.add(model(**values))
        with pytest.raises(IntegrityError) as failure:
            session.flush()
        session.rollback()
    return str(failure.value.orig)


def count(engine: Engine, model: type[Base]) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def assert_unique_violation(message: str, table: str, column: str) -> None:
    # SQLite names the column; PostgreSQL names the constraint and shows the key in DETAIL.
    assert f"UNIQUE constraint failed: {table}.{column}" in message or (
        "unique constraint" in message and f"Key ({column})=" in message
    ), message


def assert_fk_violation(message: str) -> None:
    assert (
        "FOREIGN KEY constraint failed" in message or "violates foreign key constraint" in message
    ), message


# --- the baseline -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [*TIMESTAMPED, AuditEntry], ids=lambda m: m.__name__)
def test_fresh_row_is_accepted(world: World, model: type[Base]) -> None:
    before = count(world.engine, model)
    with Session(world.engine) as session, session.begin():
        session.add(model(**world.new_row(model)))
    assert count(world.engine, model) == before + 1


# --- unique columns -------------------------------------------------------------------------------

NATURAL_KEY_CASES = [
    pytest.param(Region, "code", "23", id="region-code"),
    pytest.param(District, "code", "23-G01", id="district-code"),
    pytest.param(Organization, "code", "ORG-MIAC", id="organization-code"),
    pytest.param(Site, "code", "FAP-0001", id="site-code"),
    pytest.param(Device, "name", "dc-rtr1", id="device-name"),
    pytest.param(VipnetNetwork, "number", 1988, id="vipnet_network-number"),
    pytest.param(VipnetNode, "vipnet_id", "0x07c40001", id="vipnet_node-vipnet_id"),
    pytest.param(Workstation, "hostname", "arm-mo-1-001", id="workstation-hostname"),
    pytest.param(Channel, "key", "CH-FAP-0001-1", id="channel-key"),
    pytest.param(Attestation, "number", "АС-23-2019-001", id="attestation-number"),
    pytest.param(ControlPoint, "code", "1.1.2.3.4", id="control_point-code"),
    pytest.param(Indicator, "code", "2.3", id="indicator-code"),
    pytest.param(MaintenanceWindow, "key", "MW-1", id="maintenance_window-key"),
]

UNIQUE_COLUMN_CASES = [
    pytest.param(
        Organization, "frmo_oid", "1.2.643.5.1.13.13.12.2.23.1", id="organization-frmo_oid"
    ),
    pytest.param(Workstation, "inventory_number", "ИН-1", id="workstation-inventory_number"),
    pytest.param(
        Workstation, "vipnet_node_id", Ref(VipnetNode, "0x07c40002"), id="workstation-vipnet_node"
    ),
    pytest.param(VipnetNode, "device_id", Ref(Device, "dc-hw1"), id="vipnet_node-device"),
]


@pytest.mark.parametrize(("model", "column", "taken"), NATURAL_KEY_CASES)
def test_duplicate_natural_key_is_refused(
    world: World, model: type[Base], column: str, taken: Any
) -> None:
    assert NATURAL_KEY[model] == column
    message = insert_error(world.engine, model, world.new_row(model, **{column: taken}))
    assert_unique_violation(message, str(model.__tablename__), column)


@pytest.mark.parametrize(("model", "column", "taken"), UNIQUE_COLUMN_CASES)
def test_duplicate_unique_column_is_refused(
    world: World, model: type[Base], column: str, taken: Any
) -> None:
    message = insert_error(world.engine, model, world.new_row(model, **{column: taken}))
    assert_unique_violation(message, str(model.__tablename__), column)


@pytest.mark.parametrize(
    ("model", "column", "other_key"),
    [
        pytest.param(Organization, "frmo_oid", {"code": "NEW-ORG-2"}, id="organization-frmo_oid"),
        pytest.param(
            Workstation, "inventory_number", {"hostname": "arm-new-002"}, id="workstation-inv"
        ),
        pytest.param(
            Workstation,
            "vipnet_node_id",
            {"hostname": "arm-new-002", "inventory_number": "ИН-NEW-2"},
            id="workstation-node",
        ),
        pytest.param(VipnetNode, "device_id", {"vipnet_id": "0x07c40004"}, id="vipnet_node-dev"),
    ],
)
def test_unique_columns_allow_many_empty_values(
    world: World, model: type[Base], column: str, other_key: dict[str, str]
) -> None:
    """Organizations without an FRMO OID, AWPs without inventory number or node are all fine."""
    before = count(world.engine, model)
    with Session(world.engine) as session, session.begin():
        session.add(model(**world.new_row(model, **{column: None})))
        session.add(model(**world.new_row(model, **other_key, **{column: None})))
    assert count(world.engine, model) == before + 2


# --- CHECK constraints --------------------------------------------------------------------------

CHECK_CASES = [
    # enum columns
    pytest.param(Organization, {"kind": "bank"}, "ck_organization_kind_valid", id="org-kind"),
    pytest.param(Site, {"kind": "xxx"}, "ck_site_kind_valid", id="site-kind"),
    pytest.param(Site, {"kind": "FAP"}, "ck_site_kind_valid", id="site-kind-uppercase"),
    pytest.param(Site, {"status": "closed"}, "ck_site_status_valid", id="site-status"),
    pytest.param(Device, {"status": "broken"}, "ck_device_status_valid", id="device-status"),
    pytest.param(Device, {"role": "toaster"}, "ck_device_role_valid", id="device-role"),
    pytest.param(VipnetNode, {"kind": "server"}, "ck_vipnet_node_kind_valid", id="node-kind"),
    pytest.param(Channel, {"medium": "pigeon"}, "ck_channel_medium_valid", id="channel-medium"),
    pytest.param(Channel, {"role": "spare"}, "ck_channel_role_valid", id="channel-role"),
    pytest.param(Channel, {"status": "lost"}, "ck_channel_status_valid", id="channel-status"),
    pytest.param(Attestation, {"scope": "fap"}, "ck_attestation_scope_valid", id="att-scope"),
    pytest.param(Attestation, {"kind": "audit"}, "ck_attestation_kind_valid", id="att-kind"),
    pytest.param(AuditEntry, {"action": "rename"}, "ck_audit_entry_action_valid", id="audit-act"),
    # ranges
    pytest.param(Site, {"latitude": 91.0}, "ck_site_latitude_range", id="latitude-91"),
    pytest.param(Site, {"latitude": -90.5}, "ck_site_latitude_range", id="latitude--90.5"),
    pytest.param(Site, {"longitude": 180.5}, "ck_site_longitude_range", id="longitude-180.5"),
    pytest.param(Channel, {"sla_target_pct": Decimal(0)}, "ck_channel_sla_range", id="sla-0"),
    pytest.param(Channel, {"sla_target_pct": Decimal(101)}, "ck_channel_sla_range", id="sla-101"),
    pytest.param(
        Channel, {"bandwidth_mbps": Decimal(0)}, "ck_channel_bandwidth_positive", id="bw-0"
    ),
    pytest.param(
        Channel, {"bandwidth_mbps": Decimal(-10)}, "ck_channel_bandwidth_positive", id="bw-neg"
    ),
    pytest.param(
        VipnetNetwork, {"number": 70000}, "ck_vipnet_network_number_range", id="network-70000"
    ),
    pytest.param(VipnetNetwork, {"number": 0}, "ck_vipnet_network_number_range", id="network-0"),
    pytest.param(ControlPoint, {"due_day": 32}, "ck_control_point_due_day_range", id="due_day-32"),
    pytest.param(ControlPoint, {"due_day": 0}, "ck_control_point_due_day_range", id="due_day-0"),
    # orderings
    pytest.param(
        Attestation,
        {"issued_on": dt.date(2022, 12, 16), "valid_until": dt.date(2022, 12, 16)},
        "ck_attestation_validity_order",
        id="attestation-valid_until-equal",
    ),
    pytest.param(
        Attestation,
        {"issued_on": dt.date(2022, 12, 16), "valid_until": dt.date(2019, 12, 16)},
        "ck_attestation_validity_order",
        id="attestation-valid_until-before",
    ),
    pytest.param(
        MaintenanceWindow,
        {"ends_at": dt.datetime(2026, 12, 1, 19, 0, tzinfo=UTC)},
        "ck_maintenance_window_window_order",
        id="maintenance-ends-equal",
    ),
    pytest.param(
        MaintenanceWindow,
        {"ends_at": dt.datetime(2026, 12, 1, 18, 59, tzinfo=UTC)},
        "ck_maintenance_window_window_order",
        id="maintenance-ends-before",
    ),
    pytest.param(
        MaintenanceWindow,
        # 22:00 in Moscow is 19:00 UTC, the same instant as starts_at: an empty window.
        {"ends_at": dt.datetime(2026, 12, 1, 22, 0, tzinfo=MOSCOW)},
        "ck_maintenance_window_window_order",
        id="maintenance-ends-equal-other-zone",
    ),
]


@pytest.mark.parametrize(("model", "change", "constraint"), CHECK_CASES)
def test_check_constraint_refuses(
    world: World, model: type[Base], change: dict[str, Any], constraint: str
) -> None:
    message = insert_error(world.engine, model, world.new_row(model, **change))
    assert constraint in message


INCOMPLETE_SCHEDULES = [
    pytest.param({"recurrence": "monthly", "due_day": None}, id="monthly-without-due_day"),
    pytest.param({"recurrence": "monthly", "valid_from": None}, id="monthly-without-valid_from"),
    pytest.param({"recurrence": "monthly", "valid_until": None}, id="monthly-without-valid_until"),
    pytest.param({"recurrence": "quarterly", "due_day": None}, id="quarterly-without-due_day"),
    pytest.param({"recurrence": "yearly", "due_month": None}, id="yearly-without-due_month"),
    pytest.param(
        {"recurrence": "once", "due_date": None, "due_day": None},
        id="once-without-due_date",
    ),
]


@pytest.mark.parametrize("change", INCOMPLETE_SCHEDULES)
def test_control_point_schedule_must_be_complete(world: World, change: dict[str, Any]) -> None:
    message = insert_error(world.engine, ControlPoint, world.new_row(ControlPoint, **change))
    assert "ck_control_point_schedule_complete" in message


def test_unknown_recurrence_is_refused(world: World) -> None:
    row = world.new_row(ControlPoint, recurrence="weekly")
    message = insert_error(world.engine, ControlPoint, row)
    # Both CHECKs fail; which one a backend reports first is its own business.
    assert (
        "ck_control_point_recurrence_valid" in message
        or "ck_control_point_schedule_complete" in message
    ), message


@pytest.mark.parametrize(
    ("model", "change"),
    [
        pytest.param(Site, {"latitude": 90.0, "longitude": 180.0}, id="site-north-east-edge"),
        pytest.param(Site, {"latitude": -90.0, "longitude": -180.0}, id="site-south-west-edge"),
        pytest.param(Site, {"latitude": None, "longitude": None}, id="site-no-coordinates"),
        pytest.param(Channel, {"sla_target_pct": Decimal(100)}, id="sla-100"),
        pytest.param(Channel, {"sla_target_pct": Decimal("0.001")}, id="sla-0.001"),
        pytest.param(Channel, {"bandwidth_mbps": Decimal("0.001")}, id="bandwidth-0.001"),
        pytest.param(Channel, {"sla_target_pct": None, "bandwidth_mbps": None}, id="channel-nulls"),
        pytest.param(VipnetNetwork, {"number": 1}, id="network-1"),
        pytest.param(VipnetNetwork, {"number": 65535}, id="network-65535"),
        pytest.param(ControlPoint, {"due_day": 1}, id="due_day-1"),
        pytest.param(ControlPoint, {"due_day": 31}, id="due_day-31"),
        pytest.param(
            ControlPoint,
            {
                "recurrence": "once",
                "due_date": dt.date(2019, 12, 16),
                "due_day": None,
                "valid_from": None,
                "valid_until": None,
            },
            id="once-with-only-due_date",
        ),
        pytest.param(
            ControlPoint,
            {"recurrence": "yearly", "due_day": 1, "due_month": 11},
            id="yearly-complete",
        ),
        pytest.param(ControlPoint, {"recurrence": "quarterly"}, id="quarterly-complete"),
        pytest.param(
            Attestation,
            {"issued_on": dt.date(2022, 12, 16), "valid_until": dt.date(2022, 12, 17)},
            id="attestation-one-day",
        ),
        pytest.param(
            MaintenanceWindow,
            {"ends_at": dt.datetime(2026, 12, 1, 19, 1, tzinfo=UTC)},
            id="maintenance-one-minute",
        ),
    ],
)
def test_values_at_the_edge_are_accepted(
    world: World, model: type[Base], change: dict[str, Any]
) -> None:
    before = count(world.engine, model)
    with Session(world.engine) as session, session.begin():
        session.add(model(**world.new_row(model, **change)))
    assert count(world.engine, model) == before + 1


# --- foreign keys -------------------------------------------------------------------------------

MISSING = 999_999


@pytest.mark.parametrize(
    ("model", "column"),
    [
        pytest.param(Device, "site_id", id="device-site"),
        pytest.param(District, "region_id", id="district-region"),
        pytest.param(Site, "organization_id", id="site-organization"),
        pytest.param(VipnetNode, "network_id", id="vipnet_node-network"),
        pytest.param(VipnetNode, "device_id", id="vipnet_node-device"),
        pytest.param(Workstation, "vipnet_node_id", id="workstation-vipnet_node"),
        pytest.param(Channel, "z_site_id", id="channel-z_site"),
        pytest.param(Channel, "provider_id", id="channel-provider"),
        pytest.param(Attestation, "site_id", id="attestation-site"),
    ],
)
def test_reference_to_missing_row_is_refused(world: World, model: type[Base], column: str) -> None:
    message = insert_error(world.engine, model, world.new_row(model, **{column: MISSING}))
    assert_fk_violation(message)


def test_site_with_devices_cannot_be_deleted(world: World) -> None:
    engine = world.engine
    with Session(engine) as session, session.begin():
        session.add(Site(**world.new_row(Site)))
    with Session(engine) as session, session.begin():
        session.add(Device(**world.new_row(Device, site_id=world.id(Site, "NEW-SITE"))))

    with Session(engine) as session:
        site = session.scalars(select(Site).where(Site.code == "NEW-SITE")).one()
        session.delete(site)
        with pytest.raises(IntegrityError) as failure:
            session.flush()
        session.rollback()
    assert_fk_violation(str(failure.value.orig))
    assert world.id(Site, "NEW-SITE")  # still there

    # Once its device is gone, the same site can be deleted: it was the device that held it.
    with Session(engine) as session, session.begin():
        session.execute(delete(Device).where(Device.name == "new-rtr"))
        session.delete(session.scalars(select(Site).where(Site.code == "NEW-SITE")).one())
    with Session(engine) as session:
        assert session.scalar(select(Site.id).where(Site.code == "NEW-SITE")) is None


@pytest.mark.parametrize(
    ("model", "key"),
    [
        pytest.param(Region, "23", id="region-with-districts"),
        pytest.param(District, "23-R01", id="district-with-sites"),
        pytest.param(Organization, "PRV-1", id="provider-with-channels"),
        pytest.param(Site, "DC-PRIMARY", id="site-with-devices-and-channels"),
        pytest.param(Device, "dc-rtr1", id="device-ending-a-channel"),
        pytest.param(Device, "dc-hw1", id="device-of-a-vipnet-node"),
        pytest.param(VipnetNetwork, 1988, id="network-with-nodes"),
        pytest.param(VipnetNode, "0x07c40002", id="node-of-a-workstation"),
    ],
)
def test_referenced_row_cannot_be_deleted(world: World, model: type[Base], key: Any) -> None:
    column = getattr(model, NATURAL_KEY[model])
    before = count(world.engine, model)
    with Session(world.engine) as session:
        with pytest.raises(IntegrityError) as failure:
            session.execute(delete(model).where(column == key))
        session.rollback()
    assert_fk_violation(str(failure.value.orig))
    assert count(world.engine, model) == before


# --- timestamps ---------------------------------------------------------------------------------


def assert_utc(value: dt.datetime) -> None:
    assert value.tzinfo is not None, f"{value!r} is naive"
    assert value.utcoffset() == dt.timedelta(0), f"{value!r} is not in UTC"


@pytest.mark.parametrize("model", TIMESTAMPED, ids=lambda m: m.__name__)
def test_created_and_updated_at_are_set_in_utc(world: World, model: type[Base]) -> None:
    key = NATURAL_KEY[model]
    row = world.new_row(model)
    started = dt.datetime.now(UTC)
    with Session(world.engine) as session, session.begin():
        session.add(model(**row))
    finished = dt.datetime.now(UTC)

    with Session(world.engine) as session:
        stored = session.scalars(select(model).where(getattr(model, key) == row[key])).one()
        created, updated = stored.created_at, stored.updated_at
    assert_utc(created)
    assert_utc(updated)
    # The real current instant, not the wall clock of some zone relabelled as UTC.
    assert started <= created <= finished
    assert started <= updated <= finished


def test_orm_update_moves_updated_at_but_not_created_at(world: World) -> None:
    long_ago = dt.datetime(2020, 1, 1, 9, 30, tzinfo=UTC)
    with Session(world.engine) as session, session.begin():
        session.add(Site(**world.new_row(Site), created_at=long_ago, updated_at=long_ago))

    started = dt.datetime.now(UTC)
    with Session(world.engine) as session, session.begin():
        site = session.scalars(select(Site).where(Site.code == "NEW-SITE")).one()
        site.name = "ФАП хутор Второй (после ремонта)"

    with Session(world.engine) as session:
        site = session.scalars(select(Site).where(Site.code == "NEW-SITE")).one()
        assert site.name == "ФАП хутор Второй (после ремонта)"
        assert site.created_at == long_ago
        assert_utc(site.updated_at)
        assert site.updated_at >= started


def test_aware_times_in_another_zone_are_stored_as_the_same_instant(world: World) -> None:
    starts = dt.datetime(2026, 12, 2, 1, 0, tzinfo=MOSCOW)  # 22:00 UTC the day before
    ends = dt.datetime(2026, 12, 2, 5, 0, tzinfo=MOSCOW)
    row = world.new_row(MaintenanceWindow, starts_at=starts, ends_at=ends)
    with Session(world.engine) as session, session.begin():
        session.add(MaintenanceWindow(**row))

    with Session(world.engine) as session:
        window = session.scalars(
            select(MaintenanceWindow).where(MaintenanceWindow.key == "MW-NEW")
        ).one()
        assert window.starts_at == starts
        assert window.starts_at.utcoffset() == dt.timedelta(0)
        assert (window.starts_at.day, window.starts_at.hour) == (1, 22)
        assert window.ends_at == dt.datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def test_naive_datetime_is_refused(world: World) -> None:
    row = world.new_row(MaintenanceWindow, starts_at=dt.datetime(2026, 12, 1, 19, 0))
    with Session(world.engine) as session:
        session.add(MaintenanceWindow(**row))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()
        session.rollback()
    assert count(world.engine, MaintenanceWindow) == 1  # only the world's own window
