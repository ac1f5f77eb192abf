"""The ``kontur`` command as a user runs it: exit codes, messages, and what lands in the CMDB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from cmdb.cli.io_cmd import KIND_NAMES
from cmdb.cli.main import main
from cmdb.db import make_engine
from cmdb.kinds import KINDS
from cmdb.migrate import head_revision
from cmdb.models import AuditEntry, Site, Workstation
from tests.factories import make_world


def kontur(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``kontur ARGV`` in-process; returns (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def world_cli(cli_env: str) -> str:
    engine = make_engine(cli_env)
    make_world(engine)
    engine.dispose()
    return cli_env


def scalar(url: str, query: object) -> object:
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.scalar(query)  # type: ignore[call-overload]
    engine.dispose()
    return value


def test_kind_names_match_registry() -> None:
    assert tuple(KINDS) == KIND_NAMES


def test_usage_errors_exit_2(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert kontur(capsys, "import", "castles", "x.csv")[0] == 2
    assert kontur(capsys, "export", "sites", "--format", "pdf")[0] == 2
    code, _out, err = kontur(capsys, "demo", "load", "--scale", "7")
    assert code == 2
    assert "масштаб" in err


def test_unmigrated_database_is_refused_until_upgrade(
    blank_db_url: str,
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KONTUR_DATABASE_URL", blank_db_url)
    code, _out, err = kontur(capsys, "summary")
    assert code == 2
    assert "kontur db upgrade" in err
    code, out, _err = kontur(capsys, "db", "upgrade")
    assert code == 0
    assert "→" in out
    assert kontur(capsys, "db", "upgrade")[1].startswith("схема базы данных актуальна")
    assert kontur(capsys, "summary")[0] == 0
    assert kontur(capsys, "db", "current")[0] == 0


def test_bad_settings_exit_2(cli_env: str, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("KONTUR_DATABASE_URL", "mysql://x@y/z")
    code, _out, err = kontur(capsys, "summary")
    assert code == 2
    assert "KONTUR_DATABASE_URL" in err
    monkeypatch.setenv("KONTUR_DATABASE_URL", cli_env)
    monkeypatch.setenv("KONTUR_TIMEZONE", "Mars/Olympus")
    code, _out, err = kontur(capsys, "summary")
    assert code == 2
    assert "KONTUR_TIMEZONE" in err


def test_unreachable_database_exit_2_without_password(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "KONTUR_DATABASE_URL", "postgresql+psycopg://kontur:s3cret@127.0.0.1:1/kontur"
    )
    code, _out, err = kontur(capsys, "summary")
    assert code == 2
    assert "не удаётся открыть базу данных" in err
    assert "s3cret" not in err


def test_import_errors_exit_1_and_print_every_row(
    world_cli: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ws.csv"
    path.write_text("hostname,site\narm-a,MO-1-M\narm-b,NOPE\narm-c,НЕТ\n", encoding="utf-8")
    code, out, err = kontur(capsys, "import", "workstations", str(path))
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith(f"{path}:3: site: ")
    assert lines[1].startswith(f"{path}:4: site: ")
    assert "ничего не записано" in lines[-1]
    assert out == ""
    assert scalar(world_cli, select(func.count()).select_from(Workstation)) == 3


def test_import_then_dry_run_then_export(
    world_cli: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("код;наименование;вид\nFAP-0009;ФАП;ФАП\n", encoding="cp1251")
    code, out, _ = kontur(capsys, "import", "sites", str(path), "--dry-run")
    assert (code, "создано 1" in out, "пробный прогон" in out) == (0, True, True)
    assert scalar(world_cli, select(func.count()).select_from(Site)) == 3
    code, out, _ = kontur(capsys, "import", "sites", str(path))
    assert code == 0
    assert "создано 1, изменено 0, без изменений 0" in out
    code, out, _ = kontur(capsys, "export", "sites")
    assert code == 0
    assert "FAP-0009,ФАП,fap" in out
    target = tmp_path / "out" / "sites.xlsx"
    code, _out, err = kontur(capsys, "export", "sites", "--format", "xlsx", "-o", str(target))
    assert code == 0
    assert "выгружено записей: 4" in err
    sheet = openpyxl.load_workbook(target).active
    assert [c.value for c in sheet[1]][:3] == ["code", "name", "kind"]
    assert sheet.max_row == 5


def test_list_show_delete_and_audit(world_cli: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = kontur(capsys, "list", "sites", "--where", "kind=fap")
    assert code == 0
    assert "FAP-0001" in out
    assert "DC-PRIMARY" not in out
    assert kontur(capsys, "list", "sites", "--where", "colour=red")[0] == 2
    assert kontur(capsys, "list", "sites", "--limit", "-1")[0] == 2
    code, out, _ = kontur(capsys, "show", "channels", "CH-FAP-0001-1")
    assert code == 0
    assert "provider" in out
    assert "PRV-1" in out
    assert "Журнал изменений" in out
    assert kontur(capsys, "show", "sites", "NOPE")[0] == 1
    # A site with devices and channels cannot go; the refusal changes nothing.
    code, _out, err = kontur(capsys, "delete", "sites", "FAP-0001")
    assert code == 1
    assert "ссылаются" in err
    assert scalar(world_cli, select(func.count()).select_from(Site)) == 3
    code, out, _ = kontur(capsys, "delete", "workstations", "arm-mo-1-002")
    assert code == 0
    entry = scalar(
        world_cli,
        select(AuditEntry.before).where(
            AuditEntry.action == "delete", AuditEntry.entity_key == "arm-mo-1-002"
        ),
    )
    assert isinstance(entry, dict)
    assert entry["inventory_number"] == "ИН-2"
    code, out, _ = kontur(capsys, "audit", "--kind", "workstations", "--limit", "5")
    assert code == 0
    assert "delete" in out
    assert "tester" in out


def test_schedule_and_indicators_in_russian_and_english(
    world_cli: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cp.csv"
    path.write_text(
        "code,title,evidence,recurrence,due_day,valid_from,valid_until\n"
        "1.1.2.3.4,Каналы РИР,Акты оказания услуг,monthly,15,01.01.2020,31.12.2024\n",
        encoding="utf-8",
    )
    assert kontur(capsys, "import", "control-points", str(path))[0] == 0
    code, out, _ = kontur(capsys, "schedule", "--from", "01.01.2024", "--to", "31.03.2024")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[2:]] == [
        "15.01.2024", "15.02.2024", "15.03.2024",
    ]  # fmt: skip
    assert "01.12.2023–31.12.2023" in out
    code, out, _ = kontur(capsys, "--locale", "en", "schedule", "--from", "2025-01-01",
                          "--to", "2025-12-31")  # fmt: skip
    assert code == 0
    assert "2025-01-15" in out
    assert "2025-02-15" not in out  # December 2024 is the last reporting month
    ind = tmp_path / "ind.csv"
    ind.write_text(
        "code,title,unit,fact_query,plan_2024\n2.3,Доля АРМ в ЗСПД,%,awp_protected_share,80\n",
        encoding="utf-8",
    )
    assert kontur(capsys, "import", "indicators", str(ind))[0] == 0
    code, out, _ = kontur(capsys, "indicators", "--year", "2026")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("2.3"))
    # Two of the world's three AWPs are on the protected network: 66.7 % against a plan of 80.
    assert "66.7" in row
    assert "2024" in row
    assert row.rstrip().endswith("нет")


def test_demo_load_refuses_a_non_empty_database(
    world_cli: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = kontur(capsys, "demo", "load", "--scale", "0.05")
    assert code == 1
    assert "не пуста" in err


def test_demo_run_migrates_loads_and_summarizes(
    blank_db_url: str,
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KONTUR_DATABASE_URL", blank_db_url)
    code, out, _ = kontur(capsys, "demo", "run", "--scale", "0.05")
    assert code == 0
    assert "демо-регион загружен" in out
    assert "Kontur — сводка на" in out
    assert "Истекают в ближайшие 90 дней" in out
    code, out, _ = kontur(capsys, "demo", "run", "--scale", "0.05")
    assert code == 0
    assert "не пуста" in out  # second run keeps the data and only summarizes


def test_console_script_runs(cli_env: str) -> None:
    script = Path(sys.executable).with_name("kontur")
    result = subprocess.run(
        [str(script), "db", "current"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    head = head_revision()
    assert result.stdout.rstrip().endswith(f": {head} (head {head})")


def test_status_events_import_and_status_history(
    world_cli: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "object_kind,object_key,vantage,at,state\n"
        "channel,CH-FAP-0001-1,zabbix,01.10.2026 10:00,up\n"
        "channel,CH-FAP-0001-1,zabbix,01.10.2026 12:30,down\n",
        encoding="utf-8",
    )
    code, out, _ = kontur(capsys, "import", "status-events", str(path))
    assert code == 0
    assert "создано 2" in out
    code, out, _ = kontur(capsys, "status", "--kind", "channel", "--key", "CH-FAP-0001-1")
    assert code == 0
    lines = out.splitlines()
    assert lines[2].split()[:2] == ["01.10.2026", "12:30:00"]  # newest first, Moscow time
    assert "не работает" in lines[2]
    bad = tmp_path / "bad.csv"
    bad.write_text("object_kind,object_key,vantage,at,state\nchannel,NOPE,z,x,up\n", "utf-8")
    code, _out, err = kontur(capsys, "import", "status-events", str(bad))
    assert code == 1
    assert f"{bad}:2: object_key: " in err
    assert kontur(capsys, "status", "--key", "X")[0] == 2
