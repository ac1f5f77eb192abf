"""Export: every kind in every format re-imports unchanged, and reproduces the data elsewhere."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cmdb.exporter import export_records, render
from cmdb.importer import import_file
from cmdb.kinds import KINDS
from tests.factories import ACTOR, ZONE, load, make_world

FORMATS = ("csv", "xlsx", "json", "yaml")


@pytest.fixture
def full_world(engine: Engine) -> Engine:
    make_world(engine)
    load(engine, "attestations", [
        {"number": "АС-1", "scope": "dc_segment", "object_name": "Сегмент ЦОД",
         "site": "DC-PRIMARY", "kind": "attestation", "issued_on": "2019-12-16"},
    ])  # fmt: skip
    load(engine, "control-points", [
        {"code": "1.1.2.3.4", "title": "Каналы", "recurrence": "monthly", "due_day": 15,
         "valid_from": "2020-01-01", "valid_until": "2024-12-31"},
        {"code": "1.2.3.1.4", "title": "ПТС ЗСПД", "recurrence": "yearly", "due_day": 1,
         "due_month": 11, "valid_from": "2019-01-01", "valid_until": "2024-12-31"},
    ])  # fmt: skip
    load(engine, "indicators", [
        {"code": "2.3", "title": "Доля АРМ в ЗСПД", "unit": "%", "base_value": "61.7",
         "fact_query": "awp_protected_share", "plan_2019": 72.5, "plan_2022": 100},
    ])  # fmt: skip
    load(engine, "maintenance", [
        {"key": "MW-1", "objects": "site:FAP-0001; channel:CH-FAP-0001-1",
         "starts_at": "2026-12-01T22:00:00+03:00", "ends_at": "2026-12-02T02:00:00+03:00",
         "reason": "работы"},
    ])  # fmt: skip
    return engine


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_kind_reimports_unchanged(full_world: Engine, tmp_path: Path, fmt: str) -> None:
    for kind in KINDS:
        header, records = export_records(full_world, kind, ZONE, native=fmt != "csv")
        assert records, f"{kind}: the fixture world should have rows"
        path = tmp_path / f"{kind}.{fmt}"
        path.write_bytes(render(header, records, fmt, kind))
        result = import_file(full_world, kind, path, actor=ACTOR, zone=ZONE)
        assert (result.created, result.updated) == (0, 0), (kind, fmt)
        assert result.unchanged == len(records)


def test_export_into_an_empty_database_reproduces_it(
    full_world: Engine, tmp_path: Path, db_url: str
) -> None:
    exported = {}
    for kind in KINDS:
        header, records = export_records(full_world, kind, ZONE, native=False)
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(render(header, records, "csv", kind))
        exported[kind] = (path, records)
    # Wipe and re-import: the exports alone rebuild the same CMDB.
    from sqlalchemy import delete

    from cmdb.models import Base

    with full_world.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    for kind, (path, _records) in exported.items():
        import_file(full_world, kind, path, actor=ACTOR, zone=ZONE)
    for kind, (_path, records) in exported.items():
        assert export_records(full_world, kind, ZONE, native=False)[1] == records, kind


def test_json_is_flat_with_enum_values_and_natural_keys(full_world: Engine) -> None:
    header, records = export_records(full_world, "sites", ZONE, native=True)
    data = json.loads(render(header, records, "json", "sites"))
    fap = next(r for r in data if r["code"] == "FAP-0001")
    assert fap["kind"] == "fap"
    assert fap["organization"] == "MO-1"
    assert fap["latitude"] == 44.9
    assert all(not isinstance(v, dict | list) for v in fap.values())
    channels = json.loads(render(*export_records(full_world, "channels", ZONE, native=True),
                                 "json", "channels"))  # fmt: skip
    first = next(r for r in channels if r["key"] == "CH-FAP-0001-1")
    assert first["medium"] == "copper"
    assert first["role"] == "primary"
    assert first["sla_target_pct"] == 98.5
    assert first["contract_date"] == "2026-01-15"


def test_csv_has_bom_and_russian_headers_on_request(full_world: Engine) -> None:
    header, records = export_records(full_world, "workstations", ZONE, native=False, headers="ru")
    data = render(header, records, "csv", "workstations")
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["имя компьютера", "площадка", "инвентарный номер"]
    assert rows[1][:3] == ["arm-fap-0001-001", "FAP-0001", "ИН-3"]  # ordered by natural key


def test_russian_header_export_reimports(full_world: Engine, tmp_path: Path) -> None:
    header, records = export_records(full_world, "indicators", ZONE, native=False, headers="ru")
    assert "план_2022" in header
    path = tmp_path / "ind.csv"
    path.write_bytes(render(header, records, "csv", "indicators"))
    result = import_file(full_world, "indicators", path, actor=ACTOR, zone=ZONE)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
