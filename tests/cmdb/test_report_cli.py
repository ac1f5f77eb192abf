"""``kontur report uptime`` as a user runs it: the JSON numbers, the other formats, usage errors.

The subcommand is registered into a fresh parser here (the ``kontur.commands`` entry point is
added to pyproject.toml separately) and run in-process like ``cmdb.cli.main.main`` runs it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from cmdb.bulk import bulk_insert
from cmdb.cli.context import CliContext, CommandError
from cmdb.cli.report_cmd import register
from cmdb.db import make_engine
from cmdb.models import StatusTransition
from cmdb.settings import load_settings
from tests.factories import load, make_world

MSK = ZoneInfo("Europe/Moscow")
OCTOBER = 31 * 86400


def kontur(
    capsys: pytest.CaptureFixture[str], *argv: str, out: TextIO | None = None
) -> tuple[int, str, str]:
    """Run ``kontur ARGV`` with only the report subcommand; returns (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="kontur")
    register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse usage errors
        out_text, err_text = capsys.readouterr()
        return int(exc.code or 0), out_text, err_text
    ctx = CliContext(load_settings(), out=out)
    try:
        code: int = args.handler(args, ctx)
    except CommandError as exc:
        sys.stderr.write(f"{exc}\n")
        code = exc.code
    finally:
        ctx.close()
    out_text, err_text = capsys.readouterr()
    return code, out_text, err_text


def msk(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 10, day, hour, minute, second, tzinfo=MSK).astimezone(dt.UTC)


@pytest.fixture
def world(cli_env: str) -> Iterator[Engine]:
    """The factory world, a maintenance window on FAP-0001 and an October outage of CH-…-1."""
    engine = make_engine(cli_env)
    make_world(engine)
    load(engine, "maintenance", [
        {"key": "MW-1", "objects": "site:FAP-0001", "starts_at": "20.10.2026 12:00",
         "ends_at": "20.10.2026 14:00", "reason": "работы на площадке"},
    ])  # fmt: skip
    rows = [
        ("dc-primary", dt.datetime(2026, 9, 15, tzinfo=dt.UTC), "up"),
        ("dc-reserve", dt.datetime(2026, 9, 15, tzinfo=dt.UTC), "up"),
        ("dc-primary", msk(5, 10), "down"),
        ("dc-reserve", msk(5, 10, 0, 30), "down"),
        ("dc-primary", msk(5, 11), "up"),
        ("dc-reserve", msk(5, 11), "up"),
    ]
    with engine.begin() as conn:
        bulk_insert(conn, StatusTransition.__table__, [  # type: ignore[arg-type]
            {"object_kind": "channel", "object_key": "CH-FAP-0001-1", "vantage": vantage,
             "at": when, "state": state, "previous": None, "reason": "test", "source": "test"}
            for vantage, when, state in rows
        ])  # fmt: skip
    yield engine
    engine.dispose()


def test_json_gives_every_figure_per_object(
    world: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = kontur(capsys, "report", "uptime", "--month", "2026-10", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["period"] == {
        "label": "2026-10",
        "start": "2026-10-01T00:00:00+03:00",
        "end": "2026-11-01T00:00:00+03:00",
        "zone": "Europe/Moscow",
        "seconds": OCTOBER,
        "generated_at": report["period"]["generated_at"],
    }
    first, second = report["objects"]
    assert first == {
        "kind": "channel",
        "key": "CH-FAP-0001-1",
        "name": None,
        "site": "FAP-0001",
        "district": "Абинский район",
        "organization": "ЦРБ № 1",
        "up_s": OCTOBER - 3570 - 7200,
        "down_s": 3570,
        "degraded_s": 0,
        "unknown_s": 0,
        "maintenance_s": 7200,
        "disagreement_s": 30,
        "sli": (OCTOBER - 3570 - 7200) / (OCTOBER - 7200),
        "sli_worst": (OCTOBER - 3570 - 7200) / (OCTOBER - 7200),
        "unknown_share": 0,
        "sla_target_pct": 98.5,
        "meets_target": True,
    }
    assert second["key"] == "CH-FAP-0001-2"
    assert (second["unknown_s"], second["maintenance_s"]) == (OCTOBER - 7200, 7200)
    assert (second["sli"], second["sli_worst"], second["unknown_share"]) == (None, 0, 1)
    assert (second["sla_target_pct"], second["meets_target"]) == (None, None)
    region = next(g for g in report["groups"] if g["level"] == "region")
    assert (region["key"], region["name"], region["objects"]) == ("23", "Краснодарский край", 2)
    assert region["down_s"] == 3570
    assert region["unknown_s"] == OCTOBER - 7200
    assert report["failovers"] == [
        {"site": "FAP-0001", "redundancy_group": "FAP-0001-WAN", "switches": 0, "backup_s": 0,
         "longest_backup_s": 0, "last_backup_at": None, "months_without_exercise": None}
    ]  # fmt: skip
    assert report["outages_by_day"] == {"2026-10-05": 1}


def test_json_to_a_file_and_an_interval_with_excluded_end(
    world: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "uptime.json"
    code, out, err = kontur(
        capsys, "report", "uptime", "--from", "05.10.2026", "--to", "2026-10-06",
        "--format", "json", "-o", str(target),
    )  # fmt: skip
    assert code == 0, err
    assert out == ""
    assert str(target) in err
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["period"]["seconds"] == 86400  # the 5th only: --to is not included
    assert report["period"]["label"] == "2026-10-05–2026-10-06"
    assert report["objects"][0]["down_s"] == 3570
    assert report["objects"][0]["maintenance_s"] == 0
    # a moment with an offset is taken as given
    code, out, _err = kontur(
        capsys, "report", "uptime", "--from", "2026-10-05T07:00:00+00:00",
        "--to", "05.10.2026 11:00", "--format", "json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["objects"][0]["down_s"] == 3570


def test_several_kinds_at_once(world: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = kontur(
        capsys, "report", "uptime", "--month", "10.2026", "--kind", "site", "device",
        "--format", "json",
    )  # fmt: skip
    assert code == 0
    objects = json.loads(out)["objects"]
    assert {o["kind"] for o in objects} == {"site", "device"}
    fap = next(o for o in objects if o["key"] == "FAP-0001")
    assert (fap["maintenance_s"], fap["unknown_s"]) == (7200, OCTOBER - 7200)


def test_the_table_shows_the_same_numbers(
    world: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _err = kontur(capsys, "report", "uptime", "--month", "2026-10")
    assert code == 0
    assert out.startswith("Доступность за 2026-10 (Europe/Moscow), вид: канал")
    row = next(line for line in out.splitlines() if "CH-FAP-0001-1" in line)
    assert str(OCTOBER - 3570 - 7200) in row
    assert " 3570 " in row
    assert "99.866 %" in row  # 2 667 630 / 2 671 200
    assert "да" in row
    assert "Абинский район" in out
    monkeypatch.setenv("KONTUR_LOCALE", "en")
    code, out, _err = kontur(capsys, "report", "uptime", "--month", "2026-10")
    assert code == 0
    assert out.startswith("Availability for 2026-10 (Europe/Moscow), kind: channel")
    assert "months without a switch" in out


def test_binary_formats_need_a_file_on_a_terminal(
    world: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    code, _out, err = kontur(
        capsys, "report", "uptime", "--month", "2026-10", "--format", "xlsx", out=Terminal()
    )
    assert code == 2
    assert "-o" in err
    target = tmp_path / "uptime.xlsx"
    code, _out, err = kontur(
        capsys, "report", "uptime", "--month", "2026-10", "--format", "xlsx", "-o", str(target)
    )
    assert code == 0, err
    assert target.read_bytes()[:2] == b"PK"  # a zip: the renderers' own tests check the contents
    code, out, err = kontur(capsys, "report", "uptime", "--month", "2026-10", "--format", "html")
    assert code == 0, err  # stdout is not a terminal here: written there
    assert "CH-FAP-0001-1" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "--month"),
        (("--month", "2026-13"), "неверный месяц"),
        (("--month", "октябрь"), "ГГГГ-ММ"),
        (("--from", "01.10.2026"), "--from и --to"),
        (("--to", "01.10.2026"), "--from и --to"),
        (("--from", "02.10.2026", "--to", "01.10.2026"), "пустой период"),
        (("--from", "01.10.2026", "--to", "01.10.2026"), "пустой период"),
        (("--from", "31.02.2026", "--to", "01.10.2026"), "неверная дата"),
        (("--from", "вчера", "--to", "01.10.2026"), "неверная дата"),
        (("--month", "2026-10", "--from", "01.10.2026", "--to", "02.10.2026"), "--month"),
        (("--month", "2026-10", "--kind", "castle"), "invalid choice"),
        (("--month", "2026-10", "--format", "docx"), "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(
    cli_env: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    code, out, err = kontur(capsys, "report", "uptime", *argv)
    assert code == 2
    assert message in err
    assert out == ""


def test_messages_in_english(
    cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KONTUR_LOCALE", "en")
    code, _out, err = kontur(capsys, "report", "uptime", "--month", "2026-13")
    assert code == 2
    assert "bad month '2026-13': expected YYYY-MM" in err


def test_registering_imports_neither_the_maths_nor_the_renderers() -> None:
    code = (
        "import argparse, sys\n"
        "from cmdb.cli.report_cmd import register\n"
        "register(argparse.ArgumentParser().add_subparsers())\n"
        "heavy = [m for m in ('cmdb.sla', 'cmdb.reports', 'openpyxl', 'weasyprint')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_measured_month_becomes_evidence_of_the_channel_control_point(
    world: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import func, select

    from cmdb.models import ControlPointEvidence

    load(world, "control-points", [
        {"code": "1.1.2.3.4", "title": "Обеспечены каналы связи основного и резервного РИР",
         "recurrence": "monthly", "due_day": 15, "valid_from": "2026-01-01",
         "valid_until": "2026-12-31"},
        {"code": "1.1.2.9.4", "title": "Проведена аттестация", "recurrence": "once",
         "due_date": "2019-12-16"},
    ])  # fmt: skip

    def evidence_rows() -> int:
        with world.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(ControlPointEvidence)) or 0)

    # A one-off point has no October occurrence: refused before anything is written.
    code, _out, err = kontur(
        capsys, "report", "uptime", "--month", "2026-10", "--evidence", "1.1.2.3.4",
        "--evidence", "1.1.2.9.4",
    )  # fmt: skip
    assert code == 1
    assert "1.1.2.9.4" in err
    assert evidence_rows() == 0
    assert kontur(capsys, "report", "uptime", "--from", "01.10.2026", "--to", "01.11.2026",
                  "--evidence", "1.1.2.3.4")[0] == 2  # fmt: skip
    code, out, err = kontur(
        capsys, "report", "uptime", "--month", "2026-10", "--evidence", "1.1.2.3.4"
    )
    assert code == 0, err
    assert "1.1.2.3.4, срок 15.11.2026" in out
    with world.connect() as conn:
        row = conn.execute(select(ControlPointEvidence)).mappings().one()
    assert row["due_date"] == dt.date(2026, 11, 15)
    assert row["source"] == "generated"
    assert "2026-10" in row["document"]
    assert "SLI" in row["document"]
    # Running the report again keeps the first evidence (idempotent).
    assert (
        kontur(capsys, "report", "uptime", "--month", "2026-10", "--evidence", "1.1.2.3.4")[0] == 0
    )
    assert evidence_rows() == 1
