"""Reconciling ViPNet files with the CMDB and applying them through the importer (and the CLI)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cmdb.cli.main import main
from cmdb.db import make_engine
from cmdb.errors import ImportFailed
from cmdb.models import AuditEntry, Device, VipnetNode
from cmdb.vipnet_files import parse_iplir, parse_nodename
from cmdb.vipnet_reconcile import (
    ChangedNode,
    ExtraNode,
    FieldChange,
    Reconciliation,
    apply,
    nodes_from_iplir,
    nodes_from_nodename,
    reconcile,
)
from tests.factories import ACTOR, ZONE, make_world

DATA = Path(__file__).resolve().parent.parent / "data" / "vipnet"


@pytest.fixture
def world(engine: Engine) -> Engine:
    make_world(engine)
    return engine


def iplir_reconciliation(engine: Engine, path: Path) -> Reconciliation:
    config = parse_iplir(path.read_bytes(), str(path))
    return reconcile(
        engine, str(path), nodes_from_iplir(config), file_format="iplir", encoding=config.encoding
    )


def nodename_reconciliation(engine: Engine, path: Path) -> Reconciliation:
    entries = parse_nodename(path.read_bytes(), str(path))
    return reconcile(
        engine,
        str(path),
        nodes_from_nodename(entries),
        file_format="nodename",
        encoding=entries.encoding,
    )


def nodes(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                VipnetNode.vipnet_id,
                VipnetNode.name,
                VipnetNode.kind,
                VipnetNode.software_version,
                VipnetNode.enabled,
                Device.name.label("device"),
                VipnetNode.keys_valid_until,
            ).outerjoin(Device, Device.id == VipnetNode.device_id)
        ).mappings()
        return {row["vipnet_id"]: dict(row) for row in rows}


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def audit_rows(engine: Engine, source: str) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [
            (row.action, row.entity_key, row.actor)
            for row in conn.execute(
                select(AuditEntry.action, AuditEntry.entity_key, AuditEntry.actor)
                .where(AuditEntry.source == source)
                .order_by(AuditEntry.action, AuditEntry.entity_key)
            )
        ]


# --- reconciliation ------------------------------------------------------------------------------


def test_iplir_report_one_missing_one_extra_one_changed(world: Engine) -> None:
    path = DATA / "iplir-1988.conf"
    result = iplir_reconciliation(world, path)
    assert result.networks == (1988,)
    assert (result.file_nodes, result.cmdb_nodes, result.unchanged) == (2, 2, 0)
    assert [(m.vipnet_id, m.name, m.line) for m in result.missing] == [
        ("0x07c40010", "АРМ ФАП-0010", 28)
    ]
    assert dict(result.missing[0].values) == {
        "vipnet_id": "0x07c40010",
        "name": "АРМ ФАП-0010",
        "kind": "client",
        "software_version": "4.3-1",
        "enabled": True,
    }
    assert result.extra == (ExtraNode("0x07c40002", "АРМ ФАП-0001", "client"),)
    assert result.changed == (
        ChangedNode(
            "0x07c40001",
            "Координатор ЦОД-1",
            2,
            (
                FieldChange("name", "Координатор ЦОД", "Координатор ЦОД-1"),
                FieldChange("software_version", None, "4.3-1"),
            ),
        ),
    )
    assert result.has_changes


def test_iplir_kind_rule(world: Engine, tmp_path: Path) -> None:
    """New nodes: coordinator when in [servers] or tunnelling, else client; existing: kept."""
    text = (
        "[id]\nid= 0x07c40020\nname= С туннелем\n"
        "tunnel= 192.0.2.1-192.0.2.9 to 192.0.2.1-192.0.2.9\n"
        "[id]\nid= 0x07c40021\nname= Из [servers]\n"
        "[id]\nid= 0x07c40022\nname= Просто узел\n"
        "[id]\nid= 0x07c40002\nname= АРМ ФАП-0001\n"
        "[servers]\nserver= 0x07c40021, Из servers\nserver= 0x07c40002, АРМ ФАП-0001\n"
    )
    path = tmp_path / "iplir.conf"
    path.write_bytes(text.encode("koi8-r"))
    result = iplir_reconciliation(world, path)
    assert {m.vipnet_id: m.values["kind"] for m in result.missing} == {
        "0x07c40020": "coordinator",
        "0x07c40021": "coordinator",
        "0x07c40022": "client",
    }
    # 0x07c40002 is a client in the CMDB: iplir.conf never changes an existing node's kind.
    assert result.changed == ()
    assert result.unchanged == 1


def test_nodename_report(world: Engine) -> None:
    result = nodename_reconciliation(world, DATA / "nodename-1988.doc")
    assert [(m.vipnet_id, m.values["kind"], m.values["enabled"]) for m in result.missing] == [
        ("0x07c40011", "coordinator", True),
        ("0x07c40012", "client", True),
    ]
    assert result.changed == (
        ChangedNode("0x07c40002", "АРМ ФАП-0001", 2, (FieldChange("enabled", True, False),)),
    )
    assert result.extra == ()
    assert result.unchanged == 1


def test_unknown_network_is_refused(world: Engine) -> None:
    before = (nodes(world), audit_count(world))
    path = DATA / "iplir01.conf"  # the real sample: network 6670 = 0x1A0E
    with pytest.raises(ImportFailed) as exc:
        iplir_reconciliation(world, path)
    assert [str(e) for e in exc.value.errors] == [
        f"{path}:2: id: сеть ViPNet 0x1A0E (6670) узла 0x1a0e000d отсутствует в CMDB; "
        "сначала заведите её (kontur import vipnet-networks)"
    ]
    assert (nodes(world), audit_count(world)) == before


# --- apply ---------------------------------------------------------------------------------------


def test_apply_writes_through_the_importer_and_is_idempotent(world: Engine) -> None:
    path = DATA / "iplir-1988.conf"
    before_audit = audit_count(world)
    result = apply(world, iplir_reconciliation(world, path), actor=ACTOR, zone=ZONE)
    assert result is not None
    assert (result.created, result.updated, result.dry_run) == (1, 1, False)
    after = nodes(world)
    assert after["0x07c40010"] == {
        "vipnet_id": "0x07c40010",
        "name": "АРМ ФАП-0010",
        "kind": "client",
        "software_version": "4.3-1",
        "enabled": True,
        "device": None,
        "keys_valid_until": None,
    }
    coordinator = after["0x07c40001"]
    assert (coordinator["name"], coordinator["software_version"]) == ("Координатор ЦОД-1", "4.3-1")
    # What the file does not state is left alone: kind, device binding, key dates.
    assert (coordinator["kind"], coordinator["device"]) == ("coordinator", "dc-hw1")
    assert coordinator["keys_valid_until"] is not None
    assert "0x07c40002" in after  # extra: reported, never deleted
    assert audit_rows(world, str(path)) == [
        ("create", "0x07c40010", "tester"),
        ("import", str(path), "tester"),
        ("update", "0x07c40001", "tester"),
    ]
    assert audit_count(world) == before_audit + 3
    # Re-running changes nothing and writes nothing.
    again = iplir_reconciliation(world, path)
    assert (again.missing, again.changed, again.unchanged) == ((), (), 2)
    assert [e.vipnet_id for e in again.extra] == ["0x07c40002"]
    assert apply(world, again, actor=ACTOR, zone=ZONE) is None
    assert nodes(world) == after
    assert audit_count(world) == before_audit + 3


def test_apply_nodename_then_iplir_keeps_each_files_fields(world: Engine) -> None:
    apply(world, nodename_reconciliation(world, DATA / "nodename-1988.doc"), actor=ACTOR, zone=ZONE)
    after = nodes(world)
    assert after["0x07c40002"]["enabled"] is False
    assert after["0x07c40011"]["kind"] == "coordinator"
    assert after["0x07c40012"]["software_version"] is None
    apply(world, iplir_reconciliation(world, DATA / "iplir-1988.conf"), actor=ACTOR, zone=ZONE)
    after = nodes(world)
    assert after["0x07c40002"]["enabled"] is False  # iplir.conf has no enabled flag
    assert after["0x07c40001"]["software_version"] == "4.3-1"


def test_dry_run_writes_nothing(world: Engine) -> None:
    before = (nodes(world), audit_count(world))
    reconciliation = nodename_reconciliation(world, DATA / "nodename-1988.doc")
    result = apply(world, reconciliation, actor=ACTOR, zone=ZONE, dry_run=True)
    assert result is not None
    assert (result.created, result.updated, result.dry_run) == (2, 1, True)
    assert (nodes(world), audit_count(world)) == before


def test_importer_errors_point_at_file_lines(world: Engine, tmp_path: Path) -> None:
    long_name = "Ф" * 300
    text = f"[id]\nid= 0x07c40001\nname= ЦОД\n\n[id]\nid= 0x07c40030\nname= {long_name}\n"
    path = tmp_path / "long.conf"
    path.write_bytes(text.encode("koi8-r"))
    reconciliation = iplir_reconciliation(world, path)
    before = (nodes(world), audit_count(world))
    with pytest.raises(ImportFailed) as exc:
        apply(world, reconciliation, actor=ACTOR, zone=ZONE)
    assert [str(e) for e in exc.value.errors] == [
        f"{path}:5: name: длиннее 255 символов",
    ]
    assert (nodes(world), audit_count(world)) == before


# --- the kontur CLI ------------------------------------------------------------------------------


def kontur(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``kontur ARGV`` in-process; returns (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def world_cli(cli_env: str) -> Iterator[Engine]:
    engine = make_engine(cli_env)
    make_world(engine)
    yield engine
    engine.dispose()


def test_cli_report_apply_and_rerun(
    world_cli: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "iplir.conf"
    shutil.copyfile(DATA / "iplir-1988.conf", path)
    before = (nodes(world_cli), audit_count(world_cli))
    code, out, err = kontur(capsys, "import", "vipnet-iplir", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"Сверка узлов ViPNet с CMDB: {path} (iplir.conf, кодировка koi8-r)",
        "Сети: 1988 (0x07C4)",
        "Узлов в файле: 2, в CMDB в этих сетях: 2. Новых: 1, изменённых: 1, лишних: 1, "
        "без изменений: 0",
        "+ 0x07c40010 «АРМ ФАП-0010»",
        "- 0x07c40002 «АРМ ФАП-0001»",
        "~ 0x07c40001 наименование: «Координатор ЦОД» → «Координатор ЦОД-1»",
        "~ 0x07c40001 версия ПО: — → «4.3-1»",
        "Лишние узлы (есть в CMDB, нет в файле) только показаны: импорт их не удаляет.",
        f"Ничего не записано. Чтобы применить: kontur import vipnet-iplir {path} --apply",
    ]
    assert (nodes(world_cli), audit_count(world_cli)) == before

    code, out, err = kontur(capsys, "import", "vipnet-iplir", str(path), "--apply")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == (
        f"Записано в CMDB: создано 1, изменено 1 (журнал аудита, источник {path})."
    )
    assert nodes(world_cli)["0x07c40010"]["name"] == "АРМ ФАП-0010"
    assert audit_rows(world_cli, str(path)) == [
        ("create", "0x07c40010", "tester"),
        ("import", str(path), "tester"),
        ("update", "0x07c40001", "tester"),
    ]
    written = (nodes(world_cli), audit_count(world_cli))

    code, out, _err = kontur(capsys, "import", "vipnet-iplir", str(path), "--apply")
    assert code == 0
    assert "Новых: 0, изменённых: 0, лишних: 1, без изменений: 2" in out
    assert out.splitlines()[-1] == "Расхождений, которые можно применить, нет: ничего не записано."
    assert (nodes(world_cli), audit_count(world_cli)) == written


def test_cli_nodename_dry_run_in_english(
    world_cli: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (nodes(world_cli), audit_count(world_cli))
    path = DATA / "nodename-1988.doc"
    code, out, _err = kontur(
        capsys, "--locale", "en", "import", "vipnet-nodename", str(path), "--apply", "--dry-run"
    )
    assert code == 0
    lines = out.splitlines()
    assert "+ 0x07c40011 «Координатор МО-1»" in lines
    assert "~ 0x07c40002 enabled: yes → no" in lines
    assert lines[-1] == "Dry run: validated, nothing written (would create 2, update 1)."
    assert (nodes(world_cli), audit_count(world_cli)) == before


def test_cli_unknown_network_exit_1_nothing_written(
    world_cli: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (nodes(world_cli), audit_count(world_cli))
    path = DATA / "nodename-unknown-network.doc"  # one valid new node, one of network 6670
    code, out, err = kontur(capsys, "import", "vipnet-nodename", str(path), "--apply")
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"{path}:2: id: сеть ViPNet 0x1A0E (6670) узла 0x1a0e000b отсутствует в CMDB; "
        "сначала заведите её (kontur import vipnet-networks)",
        f"{path}: ошибок: 1; ничего не записано",
    ]
    assert (nodes(world_cli), audit_count(world_cli)) == before


def test_cli_malformed_file_exit_1(
    world_cli: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (DATA / "nodename-1988.doc").read_bytes().split(b"\r\n")
    path = tmp_path / "nodename.doc"
    path.write_bytes(b"\r\n".join([good[0], good[1][:60], good[2].replace(b" S ", b" Z ")]))
    before = (nodes(world_cli), audit_count(world_cli))
    code, out, err = kontur(capsys, "import", "vipnet-nodename", str(path), "--apply")
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == (
        f"{path}:2: address: строка обрывается на 60-м символе (в поле address): "
        "ожидается 80 символов"
    )
    assert lines[1].startswith(f"{path}:3: category: неизвестная категория 'Z'")
    assert lines[2] == f"{path}: ошибок: 2; ничего не записано"
    assert (nodes(world_cli), audit_count(world_cli)) == before


def test_cli_usage_errors_exit_2(world_cli: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = kontur(capsys, "import", "vipnet-iplir", "missing.conf")
    assert code == 2
    assert "missing.conf: файл не найден" in err
    code, _out, err = kontur(
        capsys, "import", "vipnet-nodename", str(DATA / "nodename01.doc"), "--encoding", "x-y"
    )
    assert code == 2
    assert "неизвестная кодировка 'x-y'" in err


def test_cli_wrong_encoding_exit_1(world_cli: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    path = DATA / "iplir-1988.conf"
    code, _out, err = kontur(capsys, "import", "vipnet-iplir", str(path), "--encoding", "cp866")
    assert code == 1
    assert err.splitlines()[0].startswith(f"{path}:4: encoding: символ ")
    assert "попробуйте --encoding koi8-r" in err
