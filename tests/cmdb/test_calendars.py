"""Calendars: expiry states of attestations and ViPNet keys, control-point status and evidence.

The demo's attestation (16.12.2019) and re-attestation (16.12.2022), each valid three years, are
seen on 23.11.2026: the re-attestation is overdue since 16.12.2025 and the first one is history.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from cmdb.calendars import (
    CpStatus,
    DuplicateEvidence,
    ExpiryKind,
    InvalidEvidence,
    NoEvidence,
    NotAnOccurrence,
    add_evidence,
    attach_generated,
    control_point_statuses,
    expiries,
    expiry_state,
    expiry_states,
    list_evidence,
    occurrence_status,
    remove_evidence,
)
from cmdb.cli.main import main
from cmdb.db import make_engine
from cmdb.errors import NotFound
from cmdb.models import AuditEntry, ControlPointEvidence
from cmdb.settings import CmdbSettings
from tests.factories import control_point, load, make_world

d = dt.date
TODAY = d(2026, 11, 23)
GIS = "ГИС в сфере здравоохранения Краснодарского края (система защиты информации)"

#: The demo's two certificates of the regional system; valid_until is left to the importer
#: (three years after issue).
DEMO_ATTESTATIONS = [
    {
        "number": "АС-23-2019-001",
        "scope": "regional_system",
        "object_name": GIS,
        "organization": "ORG-MIAC",
        "kind": "attestation",
        "issued_on": "16.12.2019",
    },
    {
        "number": "АС-23-2022-001",
        "scope": "regional_system",
        "object_name": GIS,
        "organization": "ORG-MIAC",
        "kind": "reattestation",
        "issued_on": "16.12.2022",
    },
]

#: The channels of the primary and reserve RIR, monthly by the 15th, extended through 2026 so
#: that 23.11.2026 has past and future occurrences.
CP_CODE = "1.1.2.3.4"
CHANNELS_CP = control_point(valid_until=d(2026, 12, 31))

#: The subcommands of this layer, registered here until pyproject.toml lists them.
OUR_COMMANDS = (
    EntryPoint("calendar", "cmdb.cli.calendar_cmd:register", "kontur.commands"),
    EntryPoint("evidence", "cmdb.cli.calendar_cmd:register_evidence", "kontur.commands"),
    EntryPoint("notify", "cmdb.cli.calendar_cmd:register_notify", "kontur.commands"),
)

Kontur = Callable[..., tuple[int, str, str]]


@pytest.fixture
def kontur(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Kontur:
    """Run ``kontur ARGV`` in-process with this layer's subcommands; (exit code, out, err)."""
    ours = {ep.name for ep in OUR_COMMANDS}
    installed = [ep for ep in entry_points(group="kontur.commands") if ep.name not in ours]
    monkeypatch.setattr("cmdb.cli.main.entry_points", lambda group: [*installed, *OUR_COMMANDS])

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def load_demo_compliance(engine: Engine) -> None:
    """The tiny world, the demo's attestations and the channels control point."""
    make_world(engine)
    load(engine, "attestations", DEMO_ATTESTATIONS)
    load(engine, "control-points", [CHANNELS_CP])


@pytest.fixture
def world(engine: Engine) -> Engine:
    load_demo_compliance(engine)
    return engine


@pytest.fixture
def cli_world(cli_env: str) -> Iterator[Engine]:
    engine = make_engine(cli_env)
    load_demo_compliance(engine)
    yield engine
    engine.dispose()


def cells(out: str) -> list[list[str]]:
    """The rows of a printed table (after its header and rule), split into cells."""
    return [re.split(r"\s{2,}", line.strip()) for line in out.splitlines()[2:] if line.strip()]


def count(engine: Engine, model: type[ControlPointEvidence] | type[AuditEntry]) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


# --- expiry states -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_left", "state"),
    [
        (365, "valid"),
        (91, "valid"),
        (90, "expiring_90"),
        (31, "expiring_90"),
        (30, "expiring_30"),
        (8, "expiring_30"),
        (7, "expiring_7"),
        (0, "expiring_7"),  # the last valid day
        (-1, "expired"),
    ],
)
def test_expiry_state_bands(days_left: int, state: str) -> None:
    assert expiry_state(TODAY + dt.timedelta(days=days_left), TODAY) == (state, days_left)


def test_thresholds_are_configurable() -> None:
    assert expiry_state(TODAY + dt.timedelta(days=50), TODAY, (60, 14)) == ("expiring_60", 50)
    assert expiry_state(TODAY + dt.timedelta(days=14), TODAY, (14, 60)) == ("expiring_14", 14)
    assert expiry_state(TODAY + dt.timedelta(days=61), TODAY, (60, 14))[0] == "valid"
    assert expiry_states((14, 60)) == ["valid", "expiring_60", "expiring_14", "expired"]


def test_thresholds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONTUR_NOTIFY__EXPIRY_DAYS", "14, 60")
    monkeypatch.setenv("KONTUR_NOTIFY__DUE_SOON_DAYS", "3")
    settings = CmdbSettings(_env_file=None)
    assert settings.notify.expiry_days == (60, 14)
    assert settings.notify.due_soon_days == 3


def test_demo_reattestation_is_overdue_and_the_first_one_superseded(world: Engine) -> None:
    items = expiries(world, TODAY)
    attestations = [i for i in items if i.kind is ExpiryKind.ATTESTATION]
    assert [(a.key, a.until, a.state) for a in attestations] == [
        ("АС-23-2022-001", d(2025, 12, 16), "expired")
    ]
    assert attestations[0].days_left == -342
    assert attestations[0].state_label("ru") == "просрочен на 342 дн."
    # The ViPNet key sets and the certificate of the two enabled nodes of the tiny world.
    vipnet = [(i.kind.value, i.key, i.days_left, i.state) for i in items if i not in attestations]
    assert vipnet == [
        ("vipnet_keys", "0x07c40001", 48, "expiring_90"),
        ("vipnet_certificate", "0x07c40002", 70, "expiring_90"),
        ("vipnet_keys", "0x07c40002", 70, "expiring_90"),
    ]
    assert items[1].state_label("ru") == "истекает через 48 дн."
    # Three years before, the first certificate was the one in force, expiring in a week.
    before = expiries(world, d(2022, 12, 9))
    assert [(i.key, i.state) for i in before if i.kind is ExpiryKind.ATTESTATION] == [
        ("АС-23-2022-001", "valid")
    ]


def test_filters_and_disabled_nodes(world: Engine) -> None:
    assert [i.key for i in expiries(world, TODAY, within=60)] == ["АС-23-2022-001", "0x07c40001"]
    assert [i.key for i in expiries(world, TODAY, states=["expired"])] == ["АС-23-2022-001"]
    assert len(expiries(world, TODAY, states=["expiring"])) == 3
    assert expiries(world, TODAY, states=["expiring_30"]) == []
    # Thresholds (60, 14): the key set 48 days ahead is in the 60-day band, the others valid.
    custom = expiries(world, TODAY, (60, 14), states=["expiring_60"])
    assert [i.key for i in custom] == ["0x07c40001"]
    # A disabled node's keys do not expire for anyone.
    load(world, "vipnet-nodes", [{"vipnet_id": "0x07c40001", "name": "Координатор ЦОД",
                                  "kind": "coordinator", "enabled": False}])  # fmt: skip
    assert "0x07c40001" not in {i.key for i in expiries(world, TODAY)}


def test_cli_calendar_expiries(cli_world: Engine, kontur: Kontur) -> None:
    code, out, _ = kontur("calendar", "expiries", "--today", "23.11.2026")
    assert code == 0
    first = cells(out)[0]
    assert first[:3] == ["16.12.2025", "аттестат", "АС-23-2022-001"]
    assert first[-2:] == ["-342", "просрочен на 342 дн."]
    assert "АС-23-2019-001" not in out
    assert "истекает через 48 дн." in out
    code, out, _ = kontur("calendar", "expiries", "--today", "23.11.2026", "--state", "expired")
    assert (code, len(out.splitlines())) == (0, 3)
    code, out, _ = kontur("calendar", "expiries", "--today", "01.12.2026", "--within", "40")
    assert code == 0
    assert "истекает через 40 дн." in out  # 10.01.2027
    assert "0x07c40002" not in out
    code, _out, err = kontur("calendar", "expiries", "--state", "expiring_60")
    assert code == 2
    assert "expiring_90" in err
    code, out, _ = kontur(
        "--locale", "en", "calendar", "expiries", "--today", "2026-11-23", "--state", "expired"
    )
    assert code == 0
    assert "2025-12-16" in out
    assert "expired 342 days ago" in out


def test_cli_thresholds_from_settings(
    cli_world: Engine, kontur: Kontur, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KONTUR_NOTIFY__EXPIRY_DAYS", "60,14")
    code, out, _ = kontur("calendar", "expiries", "--today", "23.11.2026", "--state", "expiring_60")
    assert code == 0
    assert "0x07c40001" in out
    assert "0x07c40002" not in out
    monkeypatch.setenv("KONTUR_NOTIFY__EXPIRY_DAYS", "0,30")
    code, _out, err = kontur("calendar", "expiries")
    assert code == 2
    assert "KONTUR_NOTIFY__EXPIRY_DAYS" in err


# --- control-point status ------------------------------------------------------------------------


def status_on(engine: Engine, today: dt.date, due: dt.date, due_soon_days: int = 7) -> CpStatus:
    """The status on ``today`` of the channels control point's occurrence due on ``due``."""
    items = control_point_statuses(
        engine, due, due, today, code=CP_CODE, due_soon_days=due_soon_days
    )
    assert [i.due for i in items] == [due]
    return items[0].status


def test_status_pure_rules() -> None:
    due = d(2026, 11, 15)
    assert occurrence_status(due, d(2026, 11, 7), done=False) is CpStatus.UPCOMING
    assert occurrence_status(due, d(2026, 11, 8), done=False) is CpStatus.DUE
    assert occurrence_status(due, due, done=False) is CpStatus.DUE
    assert occurrence_status(due, d(2026, 11, 16), done=False) is CpStatus.OVERDUE
    assert occurrence_status(due, d(2026, 11, 16), done=True) is CpStatus.DONE
    assert occurrence_status(due, d(2026, 11, 1), done=False, due_soon_days=14) is CpStatus.DUE


def test_channels_control_point_status_through_a_month(world: Engine) -> None:
    """1.1.2.3.4, October 2026's act due 15.11.2026: upcoming, due, overdue, done."""
    due = d(2026, 11, 15)
    assert status_on(world, d(2026, 11, 1), due) is CpStatus.UPCOMING
    assert status_on(world, d(2026, 11, 8), due) is CpStatus.DUE
    assert status_on(world, d(2026, 11, 15), due) is CpStatus.DUE
    assert status_on(world, d(2026, 11, 16), due) is CpStatus.OVERDUE
    assert status_on(world, d(2026, 11, 1), due, due_soon_days=14) is CpStatus.DUE
    info = add_evidence(
        world, CP_CODE, due, "Акт № 12 от 14.11.2026", note="подписан обеими сторонами",
        actor="tester",
    )  # fmt: skip
    assert (info.period_start, info.due_date, info.source) == (d(2026, 10, 1), due, "user")
    assert status_on(world, TODAY, due) is CpStatus.DONE
    item = control_point_statuses(world, due, due, TODAY, code=CP_CODE)[0]
    assert item.evidence is not None
    assert item.evidence.document == "Акт № 12 от 14.11.2026"
    # The neighbours are untouched: September's act is overdue, November's upcoming.
    assert status_on(world, TODAY, d(2026, 10, 15)) is CpStatus.OVERDUE
    assert status_on(world, TODAY, d(2026, 12, 15)) is CpStatus.UPCOMING
    # The attachment is audited.
    with world.connect() as conn:
        entry = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_key, AuditEntry.after)
            .where(AuditEntry.entity == "control_point_evidence")
        ).one()  # fmt: skip
    assert entry[:3] == ("tester", "create", "1.1.2.3.4:2026-10-01")
    assert entry[3]["document"] == "Акт № 12 от 14.11.2026"
    assert entry[3]["due_date"] == "2026-11-15"


def test_status_filter_and_one_off_points(world: Engine) -> None:
    once = control_point(
        code="1.1.2.10.4",
        title="Проведена переаттестация",
        recurrence="once",
        due_date=d(2026, 11, 20),
    )
    load(world, "control-points", [once])
    overdue = control_point_statuses(
        world, d(2026, 9, 1), TODAY, TODAY, statuses=[CpStatus.OVERDUE]
    )
    assert [(i.code, i.due) for i in overdue] == [
        (CP_CODE, d(2026, 9, 15)),
        (CP_CODE, d(2026, 10, 15)),
        (CP_CODE, d(2026, 11, 15)),
        ("1.1.2.10.4", d(2026, 11, 20)),
    ]
    info = add_evidence(world, "1.1.2.10.4", d(2026, 11, 20), "Аттестат АС-23-2026-001",
                        actor="tester")  # fmt: skip
    assert info.period_start == d(2026, 11, 20)  # a one-off occurrence is named by its due date
    done = control_point_statuses(world, d(2026, 1, 1), TODAY, TODAY, statuses=["done"])
    assert [(i.code, i.due) for i in done] == [("1.1.2.10.4", d(2026, 11, 20))]


def test_evidence_errors_write_nothing(world: Engine) -> None:
    add_evidence(world, CP_CODE, d(2026, 11, 15), "Акт № 12", actor="tester")
    evidence, audit = count(world, ControlPointEvidence), count(world, AuditEntry)
    with pytest.raises(NotFound):
        add_evidence(world, "9.9.9", d(2026, 11, 15), "Акт", actor="tester")
    with pytest.raises(NotAnOccurrence) as not_due:
        add_evidence(world, CP_CODE, d(2026, 11, 14), "Акт", actor="tester")
    assert not_due.value.nearest == [d(2026, 10, 15), d(2026, 11, 15)]
    assert not_due.value.describe("ru") == (
        "14.11.2026 — не срок контрольной точки 1.1.2.3.4; ближайшие сроки: 15.10.2026, 15.11.2026"
    )
    with pytest.raises(NotAnOccurrence) as after_end:
        add_evidence(world, CP_CODE, d(2027, 2, 15), "Акт", actor="tester")
    assert after_end.value.nearest == [d(2027, 1, 15)]
    with pytest.raises(DuplicateEvidence) as duplicate:
        add_evidence(world, CP_CODE, d(2026, 11, 15), "Акт № 13", actor="someone")
    assert duplicate.value.existing.document == "Акт № 12"
    with pytest.raises(InvalidEvidence):
        add_evidence(world, CP_CODE, d(2026, 10, 15), "   ", actor="tester")
    with pytest.raises(InvalidEvidence):
        add_evidence(world, CP_CODE, d(2026, 10, 15), "А" * 501, actor="tester")
    assert (count(world, ControlPointEvidence), count(world, AuditEntry)) == (evidence, audit)
    assert [e.document for e in list_evidence(world, CP_CODE)] == ["Акт № 12"]
    with pytest.raises(NotFound):
        list_evidence(world, "9.9.9")


def test_attach_generated_is_idempotent_and_yields_to_users(world: Engine) -> None:
    made = attach_generated(
        world, CP_CODE, d(2026, 10, 15), "Отчёт о доступности каналов за сентябрь 2026",
        "доступность 99,95 %",
    )  # fmt: skip
    assert (made.source, made.attached_by) == ("generated", "kontur:reports")
    again = attach_generated(world, CP_CODE, d(2026, 10, 15), "другой отчёт")
    assert again == made
    add_evidence(world, CP_CODE, d(2026, 11, 15), "Акт № 12", actor="tester")
    kept = attach_generated(world, CP_CODE, d(2026, 11, 15), "Отчёт за октябрь 2026")
    assert (kept.document, kept.source) == ("Акт № 12", "user")
    assert count(world, ControlPointEvidence) == 2
    with pytest.raises(NotAnOccurrence):
        attach_generated(world, CP_CODE, d(2026, 11, 1), "Отчёт")
    assert status_on(world, TODAY, d(2026, 10, 15)) is CpStatus.DONE


JournalRow = tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None, str | None]


def journal(engine: Engine) -> list[JournalRow]:
    """The evidence entries of the audit journal, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.entity_key, AuditEntry.before,
                   AuditEntry.after, AuditEntry.source)
            .where(AuditEntry.entity == "control_point_evidence")
            .order_by(AuditEntry.id)
        ).all()  # fmt: skip
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


def test_removed_evidence_makes_the_occurrence_overdue_again_and_is_journaled(
    world: Engine,
) -> None:
    due = d(2026, 11, 15)
    add_evidence(world, CP_CODE, due, "Акт № 12 от 14.11.2026", note="не тот месяц",
                 actor="tester")  # fmt: skip
    add_evidence(world, CP_CODE, d(2026, 10, 15), "Акт № 11", actor="tester")
    assert status_on(world, TODAY, due) is CpStatus.DONE
    removed = remove_evidence(
        world, CP_CODE, due, actor="auditor", reason="  приложен к другому месяцу ",
        audit_source="web",
    )  # fmt: skip
    assert (removed.document, removed.period_start) == ("Акт № 12 от 14.11.2026", d(2026, 10, 1))
    # The status is computed again: overdue after the due date, due or upcoming before it.
    assert status_on(world, TODAY, due) is CpStatus.OVERDUE
    assert status_on(world, d(2026, 11, 10), due) is CpStatus.DUE
    assert status_on(world, d(2026, 11, 1), due) is CpStatus.UPCOMING
    # Only that occurrence lost its evidence.
    assert [e.due_date for e in list_evidence(world, CP_CODE)] == [d(2026, 10, 15)]
    assert status_on(world, TODAY, d(2026, 10, 15)) is CpStatus.DONE
    # The journal keeps what was removed, by whom, from where and why.
    actor, action, key, before, after, source = journal(world)[-1]
    assert (actor, action, key, after, source) == (
        "auditor", "delete", "1.1.2.3.4:2026-10-01", None, "web",
    )  # fmt: skip
    assert before is not None
    assert before["document"] == "Акт № 12 от 14.11.2026"
    assert before["note"] == "не тот месяц"
    assert before["due_date"] == "2026-11-15"
    assert before["removal_reason"] == "приложен к другому месяцу"
    # The occurrence can be given the right evidence now.
    add_evidence(world, CP_CODE, due, "Акт № 13 от 14.11.2026", actor="tester")
    assert status_on(world, TODAY, due) is CpStatus.DONE


def test_removal_without_a_reason_journals_the_evidence_as_it_was(world: Engine) -> None:
    info = add_evidence(world, "1.1.2.3.4", d(2026, 11, 15), "Акт № 12", actor="tester")
    remove_evidence(world, CP_CODE, d(2026, 11, 15), actor="tester", reason="   ")
    _actor, action, _key, before, after, source = journal(world)[-1]
    assert (action, after, source) == ("delete", None, "cli")
    assert before == info.audit_view()


def test_evidence_removal_errors_write_nothing(world: Engine) -> None:
    add_evidence(world, CP_CODE, d(2026, 11, 15), "Акт № 12", actor="tester")
    evidence, audit = count(world, ControlPointEvidence), count(world, AuditEntry)
    with pytest.raises(NotFound):
        remove_evidence(world, "9.9.9", d(2026, 11, 15), actor="tester")
    with pytest.raises(NotAnOccurrence) as not_due:
        remove_evidence(world, CP_CODE, d(2026, 11, 14), actor="tester")
    assert not_due.value.nearest == [d(2026, 10, 15), d(2026, 11, 15)]
    with pytest.raises(NoEvidence) as none:
        remove_evidence(world, CP_CODE, d(2026, 10, 15), actor="tester", reason="ошибка")
    assert none.value.describe("ru") == (
        "у контрольной точки 1.1.2.3.4 за срок 15.10.2026 нет подтверждения"
    )
    assert none.value.describe("en") == "control point 1.1.2.3.4 has no evidence for 2026-10-15"
    with pytest.raises(InvalidEvidence) as too_long:
        remove_evidence(world, CP_CODE, d(2026, 11, 15), actor="tester", reason="п" * 501)
    assert too_long.value.describe("ru") == "reason: длиннее 500 символов"
    assert (count(world, ControlPointEvidence), count(world, AuditEntry)) == (evidence, audit)
    assert [e.document for e in list_evidence(world, CP_CODE)] == ["Акт № 12"]
    # Removed once, it is gone: a second removal has nothing to remove.
    remove_evidence(world, CP_CODE, d(2026, 11, 15), actor="tester")
    with pytest.raises(NoEvidence):
        remove_evidence(world, CP_CODE, d(2026, 11, 15), actor="tester")
    assert count(world, AuditEntry) == audit + 1


def test_generated_evidence_can_be_removed_and_is_generated_again(world: Engine) -> None:
    attach_generated(world, CP_CODE, d(2026, 10, 15), "Отчёт за сентябрь 2026")
    removed = remove_evidence(world, CP_CODE, d(2026, 10, 15), actor="tester", reason="пересчёт")
    assert (removed.source, removed.attached_by) == ("generated", "kontur:reports")
    assert status_on(world, TODAY, d(2026, 10, 15)) is CpStatus.OVERDUE
    again = attach_generated(world, CP_CODE, d(2026, 10, 15), "Отчёт за сентябрь 2026, уточнённый")
    assert again.document == "Отчёт за сентябрь 2026, уточнённый"
    assert status_on(world, TODAY, d(2026, 10, 15)) is CpStatus.DONE


def test_cli_schedule_status_and_evidence(cli_world: Engine, kontur: Kontur) -> None:
    code, out, _ = kontur(
        "schedule", "--from", "01.10.2026", "--to", "31.12.2026", "--today", "23.11.2026"
    )
    assert code == 0
    assert [row[:2] for row in cells(out)] == [
        ["15.10.2026", "просрочена"],
        ["15.11.2026", "просрочена"],
        ["15.12.2026", "предстоит"],
    ]
    code, out, _ = kontur(
        "evidence", "add", CP_CODE, "--due", "15.11.2026", "--document", "Акт № 12 от 14.11.2026"
    )
    assert code == 0
    assert "Акт № 12 от 14.11.2026" in out
    code, out, _ = kontur("schedule", "--status", "overdue", "--today", "23.11.2026")
    assert code == 0
    dues = [line.split()[0] for line in out.splitlines()[2:]]
    assert dues[0] == "15.02.2020"  # the first month of 2020, without --from: all of history
    assert "15.10.2026" in dues
    assert "15.11.2026" not in dues
    code, out, _ = kontur(
        "schedule", "--status", "done", "--status", "due", "--today", "10.12.2026"
    )
    assert code == 0
    assert [row[:2] for row in cells(out)] == [
        ["15.11.2026", "выполнена"],
        ["15.12.2026", "срок наступает"],
    ]
    assert "Акт № 12 от 14.11.2026" in out
    code, out, _ = kontur("evidence", "list", CP_CODE)
    assert code == 0
    assert "15.11.2026" in out
    assert "tester" in out
    assert "пользователь" in out
    code, out, _ = kontur("--locale", "en", "schedule", "--from", "2026-11-01",
                          "--to", "2026-11-30", "--today", "2026-11-23")  # fmt: skip
    assert code == 0
    assert "done" in out


def test_cli_evidence_errors_exit_1_and_write_nothing(cli_world: Engine, kontur: Kontur) -> None:
    assert (
        kontur("evidence", "add", CP_CODE, "--due", "15.11.2026", "--document", "Акт № 12")[0] == 0
    )
    evidence, audit = count(cli_world, ControlPointEvidence), count(cli_world, AuditEntry)
    code, _out, err = kontur("evidence", "add", "9.9.9", "--due", "15.11.2026", "--document", "А")
    assert code == 1
    assert "контрольная точка '9.9.9' не найдена" in err
    assert "ничего не записано" in err
    code, _out, err = kontur("evidence", "add", CP_CODE, "--due", "14.11.2026", "--document", "А")
    assert code == 1
    assert "ближайшие сроки: 15.10.2026, 15.11.2026" in err
    code, _out, err = kontur("evidence", "add", CP_CODE, "--due", "15.11.2026", "--document", "Б")
    assert code == 1
    assert "уже есть подтверждение: «Акт № 12»" in err
    code, _out, err = kontur("evidence", "add", CP_CODE, "--due", "31.02.2026", "--document", "А")
    assert code == 2
    assert "неверная дата" in err
    assert kontur("evidence", "list", "9.9.9")[0] == 1
    assert (count(cli_world, ControlPointEvidence), count(cli_world, AuditEntry)) == (
        evidence,
        audit,
    )


def test_cli_evidence_remove(cli_world: Engine, kontur: Kontur) -> None:
    assert (
        kontur("evidence", "add", CP_CODE, "--due", "15.11.2026", "--document", "Акт № 12")[0] == 0
    )
    code, out, _err = kontur(
        "evidence", "remove", CP_CODE, "--due", "15.11.2026", "--reason", "не тот акт"
    )
    assert code == 0, _err
    # The status is that of the real calendar's today, and no longer «выполнена».
    removed = "подтверждение удалено: 1.1.2.3.4, срок 15.11.2026: «Акт № 12»; статус: "
    assert re.search(re.escape(removed) + "(просрочена|срок наступает|предстоит)$", out, re.M)
    assert list_evidence(cli_world, CP_CODE) == []
    (_actor, action, key, before, after, source) = journal(cli_world)[-1]
    assert (_actor, action, key, after, source) == (
        "tester", "delete", "1.1.2.3.4:2026-10-01", None, "cli",
    )  # fmt: skip
    assert before is not None
    assert before["removal_reason"] == "не тот акт"
    # Generated evidence: removed, with a warning that the report attaches it again.
    attach_generated(cli_world, CP_CODE, d(2026, 10, 15), "Отчёт за сентябрь 2026")
    code, out, _err = kontur("--locale", "en", "evidence", "remove", CP_CODE, "--due", "2026-10-15")
    assert code == 0
    assert "evidence removed: 1.1.2.3.4, due 2026-10-15" in out
    assert "kontur report uptime --evidence 1.1.2.3.4" in out


def test_cli_evidence_remove_errors_exit_1_and_write_nothing(
    cli_world: Engine, kontur: Kontur
) -> None:
    assert (
        kontur("evidence", "add", CP_CODE, "--due", "15.11.2026", "--document", "Акт № 12")[0] == 0
    )
    evidence, audit = count(cli_world, ControlPointEvidence), count(cli_world, AuditEntry)
    code, _out, err = kontur("evidence", "remove", "9.9.9", "--due", "15.11.2026")
    assert code == 1
    assert "контрольная точка '9.9.9' не найдена; ничего не записано" in err
    code, _out, err = kontur("evidence", "remove", CP_CODE, "--due", "14.11.2026")
    assert code == 1
    assert "ближайшие сроки: 15.10.2026, 15.11.2026; ничего не записано" in err
    code, _out, err = kontur("evidence", "remove", CP_CODE, "--due", "15.10.2026")
    assert code == 1
    assert "за срок 15.10.2026 нет подтверждения; ничего не записано" in err
    code, _out, err = kontur("--locale", "en", "evidence", "remove", CP_CODE, "--due", "15.10.2026")
    assert code == 1
    assert "has no evidence for 2026-10-15; nothing written" in err
    code, _out, err = kontur("evidence", "remove", CP_CODE, "--due", "31.02.2026")
    assert code == 2
    assert "неверная дата" in err
    code, _out, err = kontur("evidence", "remove", CP_CODE)
    assert code == 2
    assert "--due" in err
    assert (count(cli_world, ControlPointEvidence), count(cli_world, AuditEntry)) == (
        evidence,
        audit,
    )
