"""Import: happy paths in every format, idempotent re-import, and each class of bad input.

Every bad-input test checks the two things a user relies on: the error names the file, the row
(as a spreadsheet numbers it, header = 1), the column and the reason; and nothing was written.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cmdb.errors import ImportFailed
from cmdb.importer import import_file
from cmdb.models import AuditEntry, Indicator, MaintenanceWindow, Site, VipnetNode, Workstation
from tests.factories import ACTOR, ZONE, make_world

SITES_HEADER = "code,name,kind,district,organization,latitude,longitude"


def run(engine: Engine, kind: str, path: Path, **kw: object):
    return import_file(engine, kind, path, actor=ACTOR, zone=ZONE, **kw)  # type: ignore[arg-type]


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def audit_count(engine: Engine) -> int:
    return count(engine, AuditEntry)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def errors_of(exc: pytest.ExceptionInfo[ImportFailed]) -> list[str]:
    return [str(e) for e in exc.value.errors]


@pytest.fixture
def world(engine: Engine) -> Engine:
    make_world(engine)
    return engine


# --- happy paths ------------------------------------------------------------------------------


def test_csv_sites_created_with_references_resolved(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sites.csv",
        f"{SITES_HEADER}\nFAP-0100,ФАП станица Новая,fap,23-R01,MO-1,45.1,38.9\n"
        "FP-0001,ФП хутор Малый,ФП,23-R01,MO-1,,\n",
    )
    result = run(world, "sites", path)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    with world.connect() as conn:
        row = conn.execute(select(Site).where(Site.code == "FP-0001")).mappings().one()
    assert row["kind"] == "fp"  # the Russian label «ФП» was accepted
    assert row["latitude"] is None
    assert row["status"] == "active"


def test_reimport_is_idempotent_and_audited_once(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv", f"{SITES_HEADER}\nFAP-0100,ФАП,fap,23-R01,MO-1,45.1,38.9\n")
    run(world, "sites", path)
    audit_after_first = audit_count(world)
    again = run(world, "sites", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert count(world, Site) == 4  # three from the world plus one, not duplicated
    assert audit_count(world) == audit_after_first  # nothing changed, nothing journaled


def test_update_changes_only_what_the_file_says_and_journals_before_after(
    world: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "ws.csv", "hostname,protected_network\narm-mo-1-002,да\n")
    result = run(world, "workstations", path)
    assert (result.created, result.updated) == (0, 1)
    with world.connect() as conn:
        ws = (
            conn.execute(select(Workstation).where(Workstation.hostname == "arm-mo-1-002"))
            .mappings()
            .one()
        )
    with Session(world) as session:
        entry = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "workstation", AuditEntry.action == "update"
            )
        ).one()
    assert ws["protected_network"] is True
    assert ws["inventory_number"] == "ИН-2"  # absent column left as it was
    assert entry.entity_key == "arm-mo-1-002"
    assert entry.before == {"protected_network": False}
    assert entry.after == {"protected_network": True}
    assert entry.actor == ACTOR
    assert entry.source == str(path)


def test_import_writes_one_summary_entry_per_file(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv", f"{SITES_HEADER}\nFAP-0100,ФАП,fap,23-R01,MO-1,45.1,38.9\n")
    run(world, "sites", path)
    with world.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.action, AuditEntry.entity_key, AuditEntry.after).where(
                AuditEntry.source == str(path)
            )
        ).all()
    actions = sorted(r.action for r in rows)
    assert actions == ["create", "import"]
    summary = next(r for r in rows if r.action == "import")
    assert summary.after == {"kind": "sites", "created": 1, "updated": 0, "unchanged": 0}
    create = next(r for r in rows if r.action == "create")
    assert create.entity_key == "FAP-0100"
    assert create.after["organization"] == "MO-1"  # references journaled as natural keys


def test_russian_headers_and_dates_accepted(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "аттестаты.csv",
        "Номер;Объект аттестации;Наименование объекта;Вид;Дата выдачи;Выдан\n"
        "АС-1;региональная система;ГИС здравоохранения;аттестация;16.12.2019;ФСТЭК\n",
    )
    run(world, "attestations", path)
    with world.connect() as conn:
        row = conn.execute(select(AuditEntry.after).where(AuditEntry.action == "create")).all()
    after = next(r.after for r in row if r.after.get("number") == "АС-1")
    assert after["issued_on"] == "2019-12-16"
    assert after["valid_until"] == "2022-12-16"  # default: re-attestation every 3 years
    assert after["scope"] == "regional_system"


def test_cp1251_csv_is_detected(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sites-1251.csv",
        "код;наименование;вид;район;организация\nFAP-0200;ФАП посёлок Южный;ФАП;23-R01;MO-1\n",
        encoding="cp1251",
    )
    result = run(world, "sites", path)
    assert result.encoding == "cp1251"
    with world.connect() as conn:
        name = conn.scalar(select(Site.name).where(Site.code == "FAP-0200"))
    assert name == "ФАП посёлок Южный"


def test_utf8_bom_csv_from_excel(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffcode;name;kind\nFAP-0300;ФАП;fap\n".encode())
    assert run(world, "sites", path).created == 1


def test_xlsx_with_native_dates_and_numbers(world: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Идентификатор", "Наименование", "Вид", "СКИ выдан", "СКИ действует до"])
    sheet.append([None, None, None, None, None])  # an empty row a person left: skipped
    sheet.append(
        ["07C40010", "Координатор МО", "координатор", dt.datetime(2026, 3, 1), "01.03.2027"]
    )
    path = tmp_path / "nodes.xlsx"
    book.save(path)
    result = run(world, "vipnet-nodes", path)
    assert result.created == 1
    with world.connect() as conn:
        node = (
            conn.execute(select(VipnetNode).where(VipnetNode.vipnet_id == "0x07c40010"))
            .mappings()
            .one()
        )
    assert node["keys_issued_on"] == dt.date(2026, 3, 1)
    assert node["keys_valid_until"] == dt.date(2027, 3, 1)


def test_xlsx_error_rows_are_spreadsheet_rows(world: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["hostname", "site"])
    sheet.append(["arm-1", "MO-1-M"])
    sheet.append([None, None])
    sheet.append(["arm-2", "NO-SUCH-SITE"])
    path = tmp_path / "ws.xlsx"
    book.save(path)
    with pytest.raises(ImportFailed) as exc:
        run(world, "workstations", path)
    assert len(exc.value.errors) == 1
    assert str(exc.value.errors[0]).startswith(f"{path}:4: site: ")


def test_json_and_yaml_records(world: Engine, tmp_path: Path) -> None:
    records = [
        {"code": "2.3", "title": "Доля АРМ в ЗСПД", "unit": "%", "base_value": 61.7,
         "base_date": "2018-10-31", "fact_query": "awp_protected_share",
         "plan_2021": 80, "plan_2022": 100},
    ]  # fmt: skip
    json_path = write(tmp_path, "ind.json", json.dumps(records, ensure_ascii=False))
    assert run(world, "indicators", json_path).created == 1
    records[0]["plan_2023"] = 100
    yaml_path = write(
        tmp_path, "ind.yaml", yaml.safe_dump({"indicators": records}, allow_unicode=True)
    )
    assert run(world, "indicators", yaml_path).updated == 1
    with world.connect() as conn:
        plan = conn.scalar(select(Indicator.plan).where(Indicator.code == "2.3"))
    assert plan == {"2021": 80.0, "2022": 100.0, "2023": 100.0}


def test_maintenance_objects_resolved(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "mw.csv",
        "key,objects,starts_at,ends_at,reason\n"
        'MW-1,"site:FAP-0001; device:fap-0001-rtr",01.12.2026 22:00,02.12.2026 02:00,замена\n',
    )
    run(world, "maintenance", path)
    with world.connect() as conn:
        row = conn.execute(select(MaintenanceWindow)).mappings().one()
    assert row["objects"] == [
        {"kind": "site", "key": "FAP-0001"},
        {"kind": "device", "key": "fap-0001-rtr"},
    ]
    # 22:00 in Moscow (UTC+3) is 19:00 UTC
    assert row["starts_at"] == dt.datetime(2026, 12, 1, 19, 0, tzinfo=dt.UTC)


def test_dry_run_reports_without_writing(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv", f"{SITES_HEADER}\nFAP-0100,ФАП,fap,23-R01,MO-1,45.1,38.9\n")
    before = (count(world, Site), audit_count(world))
    result = run(world, "sites", path, dry_run=True)
    assert (result.created, result.dry_run) == (1, True)
    assert (count(world, Site), audit_count(world)) == before


# --- bad input: every error reported, nothing written -------------------------------------------


def assert_rejected(
    engine: Engine, kind: str, path: Path, expected: list[str], **kw: object
) -> None:
    """Import must fail with exactly ``expected`` errors (prefix match) and write nothing."""
    before = (count(engine, Site), count(engine, Workstation), audit_count(engine))
    with pytest.raises(ImportFailed) as exc:
        run(engine, kind, path, **kw)
    got = errors_of(exc)
    assert len(got) == len(expected), got
    for line, prefix in zip(got, expected, strict=True):
        assert line.startswith(prefix), (line, prefix)
    assert (count(engine, Site), count(engine, Workstation), audit_count(engine)) == before


def test_unknown_site_code(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "ws.csv", "hostname,site\narm-a,MO-1-M\narm-b,MO-404\narm-c,MO-1-M\n")
    assert_rejected(world, "workstations", path, [f"{path}:3: site: "])
    with pytest.raises(ImportFailed) as exc:
        run(world, "workstations", path)
    assert "MO-404" in errors_of(exc)[0]


def test_bad_dates_every_row_reported(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "att.csv",
        "number,scope,object_name,kind,issued_on\n"
        "A-1,regional_system,ГИС,attestation,31.02.2019\n"
        "A-2,regional_system,ГИС,attestation,2019-12-16\n"
        "A-3,regional_system,ГИС,attestation,вчера\n",
    )
    assert_rejected(
        world, "attestations", path, [f"{path}:2: issued_on: ", f"{path}:4: issued_on: "]
    )


def test_duplicate_key_in_file(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv", "code,name,kind\nX-1,a,fap\nX-2,b,fap\nX-1,c,fap\n")
    assert_rejected(world, "sites", path, [f"{path}:4: code: "])
    with pytest.raises(ImportFailed) as exc:
        run(world, "sites", path)
    assert "2" in errors_of(exc)[0].split("code: ")[1]  # points at the first occurrence, row 2


def test_missing_required_column(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv", "code,name\nX-1,a\n")
    assert_rejected(world, "sites", path, [f"{path}:1: kind: "])


def test_unknown_column_is_an_error_listing_valid_ones(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv", "code,name,kind,colour\nX-1,a,fap,red\n")
    with pytest.raises(ImportFailed) as exc:
        run(world, "sites", path)
    (line,) = errors_of(exc)
    assert line.startswith(f"{path}:1: colour: ")
    assert "latitude" in line


def test_required_value_blank_and_bad_enum(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv", "code,name,kind\nX-1,,fap\nX-2,b,castle\n")
    assert_rejected(world, "sites", path, [f"{path}:2: name: ", f"{path}:3: kind: "])


def test_undecodable_bytes_are_an_encoding_error(world: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"code,name,kind\n\x00\x81\x98\xff,x,fap\n")
    assert_rejected(world, "sites", path, [f"{path}:2: -: "])


def test_wrong_forced_encoding(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "s.csv", "code,name,kind\nX,Ж,fap\n", encoding="cp1251")
    assert_rejected(world, "sites", path, [f"{path}:1: -: "], encoding="utf-8")


def test_numbers_ranges_and_ip(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dev.csv",
        "name,site,role,platform,mgmt_address\n"
        "d1,FAP-0001,router,cisco_ios,127.23.9.300\n"
        "d2,FAP-0001,router,no_such_os,127.23.9.3\n",
    )
    assert_rejected(world, "devices", path, [f"{path}:2: mgmt_address: ", f"{path}:3: platform: "])


def test_organization_oid_and_inn(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "org.csv",
        "code,kind,short_name,full_name,frmo_oid,inn\n"
        "MO-7,mo,ЦРБ 7,ЦРБ 7,1.2.643.5.1.13.13.12.2.23.7,2309012345\n"
        "MO-8,mo,ЦРБ 8,ЦРБ 8,1.2.643..5,2309\n",
    )
    assert_rejected(world, "organizations", path, [f"{path}:3: frmo_oid: ", f"{path}:3: inn: "])


def test_secret_in_snmp_profile_is_refused(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "dev.csv",
        "name,site,role,platform,snmp_profile\nd1,FAP-0001,router,linux,p@ss w0rd!\n",
    )
    assert_rejected(world, "devices", path, [f"{path}:2: snmp_profile: "])


def test_vipnet_id_checks(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "nodes.csv",
        "vipnet_id,network,name,kind\n"
        "0x07c4zzzz,,a,client\n"  # not hex
        "0x1a0e000d,1988,b,client\n"  # network 6670, not 1988
        "0x1a0e000e,,c,client\n",  # network 6670 is not in the CMDB
    )
    assert_rejected(
        world,
        "vipnet-nodes",
        path,
        [f"{path}:2: vipnet_id: ", f"{path}:3: network: ", f"{path}:4: network: "],
    )


def test_unique_columns_against_file_and_database(world: Engine, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ws.csv",
        "hostname,site,inventory_number,vipnet_node\n"
        "arm-x,MO-1-M,ИН-1,\n"  # ИН-1 belongs to arm-mo-1-001 already
        "arm-y,MO-1-M,ИН-9,0x07c40002\n"  # node bound to arm-fap-0001-001 already
        "arm-z,MO-1-M,ИН-9,\n",  # ИН-9 twice in the file
    )
    assert_rejected(
        world,
        "workstations",
        path,
        [
            f"{path}:2: inventory_number: ",
            f"{path}:3: vipnet_node: ",
            f"{path}:4: inventory_number: ",
        ],
    )


def test_channel_device_must_be_at_its_site_and_provider_kind(
    world: Engine, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "ch.csv",
        "key,provider,medium,a_site,a_device,z_site\n"
        "CH-1,PRV-1,fiber,MO-1-M,dc-rtr1,DC-PRIMARY\n"
        "CH-2,MO-1,fiber,FAP-0001,,DC-PRIMARY\n",
    )
    assert_rejected(world, "channels", path, [f"{path}:2: a_device: ", f"{path}:3: provider: "])


def test_control_point_schedule_and_indicator_query(world: Engine, tmp_path: Path) -> None:
    cps = write(
        tmp_path,
        "cp.csv",
        "code,title,recurrence,due_day,valid_from,valid_until\n"
        "1.1,a,monthly,,01.01.2020,31.12.2024\n"
        "1.2,b,yearly,30,01.01.2020,31.12.2024\n",
    )
    assert_rejected(world, "control-points", cps, [f"{cps}:2: due_day: ", f"{cps}:3: due_month: "])
    ind = write(tmp_path, "ind.csv", "code,title,unit,fact_query,plan_20x\n2.3,a,%,awp_share,1\n")
    assert_rejected(world, "indicators", ind, [f"{ind}:1: plan_20x: "])


def test_malformed_json_and_not_a_list(world: Engine, tmp_path: Path) -> None:
    broken = write(tmp_path, "a.json", '[{"code": "X",\n "name": }]')
    assert_rejected(world, "sites", broken, [f"{broken}:2: -: "])
    scalar = write(tmp_path, "b.yaml", "just a string\n")
    assert_rejected(world, "sites", scalar, [f"{scalar}:1: -: "])


def test_missing_file_and_unknown_format(world: Engine, tmp_path: Path) -> None:
    assert_rejected(world, "sites", tmp_path / "nope.csv", [f"{tmp_path / 'nope.csv'}:0: -: "])
    odd = write(tmp_path, "sites.pdf", "x")
    assert_rejected(world, "sites", odd, [f"{odd}:0: -: "])


def test_nothing_written_when_one_row_of_many_is_bad(world: Engine, tmp_path: Path) -> None:
    rows = "".join(f"arm-bulk-{i},MO-1-M,ИН-B{i}\n" for i in range(500))
    path = write(
        tmp_path, "ws.csv", "hostname,site,inventory_number\n" + rows + "arm-bad,NOPE,ИН-X\n"
    )
    assert_rejected(world, "workstations", path, [f"{path}:502: site: "])


def test_english_locale_messages(world: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "sites.csv", "code,name\nX-1,a\n")
    with pytest.raises(ImportFailed) as exc:
        run(world, "sites", path, locale="en")
    assert errors_of(exc) == [f"{path}:1: kind: required column missing"]
