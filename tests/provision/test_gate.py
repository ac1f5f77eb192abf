"""The provisioning gate: expired attestations and ViPNet keys refuse hosts; overrides admit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select

from cmdb.cli.main import main
from cmdb.models import AuditEntry
from cmdb.users import create_user
from provision.gate import OverrideRefused, add_override, evaluate, list_overrides, revoke_override
from tests.factories import load, make_world

HOSTS = ("dc-rtr1", "dc-hw1", "fap-0001-rtr", "arm-mo-1-001", "arm-mo-1-002", "arm-fap-0001-001")
TODAY = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


def _attestation(number: str, scope: str, until: str, **where: str) -> dict[str, str]:
    return {
        "number": number,
        "scope": scope,
        "object_name": where.pop("object_name", "ГИС здравоохранения"),
        "kind": "attestation",
        "issued_on": "2020-01-10",
        "valid_until": until,
        **where,
    }


def _refused(
    engine: Engine, today: dt.date = TODAY, now: dt.datetime = NOW
) -> dict[str, list[str]]:
    decision = evaluate(engine, HOSTS, today=today, now=now)
    assert set(decision.allowed) | {r.ref.host for r in decision.refused} == set(HOSTS)
    return {r.ref.host: r.reasons("ru") for r in decision.refused}


@pytest.fixture
def officer(engine: Engine) -> str:
    create_user(engine, "sec.ivanova", "security_officer", password=None, actor="tester")
    create_user(engine, "eng.petrov", "engineer", password=None, actor="tester")
    return "sec.ivanova"


def test_nothing_expired_nothing_refused(engine: Engine) -> None:
    make_world(engine)
    load(engine, "attestations", [_attestation("AT-1", "regional_system", "2027-01-01")])
    assert _refused(engine) == {}


def test_expired_system_attestation_refuses_every_host_unless_superseded(engine: Engine) -> None:
    make_world(engine)
    load(engine, "attestations", [_attestation("AT-1", "regional_system", "2026-05-31")])
    refused = _refused(engine)
    assert set(refused) == set(HOSTS)
    assert refused["fap-0001-rtr"] == [
        "истёк срок действия аттестата № AT-1 (ГИС здравоохранения): действовал до 31.05.2026"
    ]
    # on its last day it is still valid
    assert _refused(engine, today=dt.date(2026, 5, 31)) == {}
    # a re-attestation of the same object replaces it
    load(
        engine,
        "attestations",
        [{**_attestation("AT-2", "regional_system", "2029-05-31"), "issued_on": "2026-05-30"}],
    )
    assert _refused(engine) == {}


def test_segment_attestations_cover_their_site_or_organization(engine: Engine) -> None:
    make_world(engine)
    load(
        engine,
        "attestations",
        [
            _attestation("AT-FAP", "mo_segment", "2026-01-01", site="FAP-0001", object_name="ФАП"),
            _attestation("AT-DC", "dc_segment", "2027-01-01", site="DC-PRIMARY", object_name="ЦОД"),
        ],
    )
    assert set(_refused(engine)) == {"fap-0001-rtr", "arm-fap-0001-001"}
    load(
        engine,
        "attestations",
        [_attestation("AT-MO", "mo_segment", "2026-02-01", organization="MO-1", object_name="МО")],
    )
    refused = _refused(engine)
    # every site of MO-1 (its head building and its FAP), not the DC
    assert set(refused) == {"fap-0001-rtr", "arm-fap-0001-001", "arm-mo-1-001", "arm-mo-1-002"}
    assert len(refused["fap-0001-rtr"]) == 2


def test_expired_vipnet_keys_and_certificate_refuse_the_node_only(engine: Engine) -> None:
    make_world(engine)
    # 0x07c40001 (dc-hw1): keys until 10.01.2027; 0x07c40002 (arm-fap-0001-001): until 01.02.2027
    refused = _refused(engine, today=dt.date(2027, 1, 20))
    assert list(refused) == ["dc-hw1"]
    assert refused["dc-hw1"] == [
        "истёк срок действия ключей (СКИ) узла ViPNet 0x07c40001: действовали до 10.01.2027"
    ]
    refused = _refused(engine, today=dt.date(2027, 2, 2))
    assert set(refused) == {"dc-hw1", "arm-fap-0001-001"}
    assert len(refused["arm-fap-0001-001"]) == 2  # key set and certificate
    # a disabled node is not checked
    load(engine, "vipnet-nodes", [{"vipnet_id": "0x07c40001", "enabled": False}])
    assert set(_refused(engine, today=dt.date(2027, 2, 2))) == {"arm-fap-0001-001"}


def test_overrides_need_a_security_officer_a_reason_and_a_future_date(
    engine: Engine, officer: str
) -> None:
    make_world(engine)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    with pytest.raises(OverrideRefused) as refused:
        add_override(engine, "site", "FAP-0001", reason="срочно", valid_until=until,
                     approved_by="eng.petrov", actor="eng.petrov")  # fmt: skip
    assert "security_officer" in refused.value.describe("ru")
    with pytest.raises(OverrideRefused):
        add_override(engine, "site", "FAP-0001", reason="  ", valid_until=until,
                     approved_by=officer, actor=officer)  # fmt: skip
    with pytest.raises(OverrideRefused):
        add_override(engine, "site", "FAP-0001", reason="x", valid_until=dt.datetime(2020, 1, 1,
                     tzinfo=dt.UTC), approved_by=officer, actor=officer)  # fmt: skip
    with pytest.raises(Exception, match="not found"):
        add_override(engine, "site", "FAP-9999", reason="x", valid_until=until,
                     approved_by=officer, actor=officer)  # fmt: skip
    assert list_overrides(engine) == []


def test_an_override_lets_refused_hosts_through_while_live(engine: Engine, officer: str) -> None:
    make_world(engine)
    load(engine, "attestations", [_attestation("AT-1", "regional_system", "2026-05-31")])
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    info = add_override(engine, "site", "FAP-0001", reason="переаттестация, письмо 12/2026",
                        valid_until=until, approved_by=officer, actor=officer)  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    decision = evaluate(engine, HOSTS, today=TODAY, now=now)
    assert {r.ref.host for r in decision.overridden} == {"fap-0001-rtr", "arm-fap-0001-001"}
    assert {r.override_ids for r in decision.overridden} == {(info.id,)}
    assert {"fap-0001-rtr", "arm-fap-0001-001"} <= set(decision.allowed)
    assert {r.ref.host for r in decision.refused} == {
        "dc-rtr1", "dc-hw1", "arm-mo-1-001", "arm-mo-1-002",
    }  # fmt: skip
    # expired: refused again
    later = evaluate(engine, HOSTS, today=TODAY, now=until + dt.timedelta(seconds=1))
    assert "fap-0001-rtr" in {r.ref.host for r in later.refused}
    # revoked: refused again, and journaled
    assert revoke_override(engine, info.id, actor=officer) is True
    assert revoke_override(engine, info.id, actor=officer) is False
    assert "fap-0001-rtr" in {r.ref.host for r in evaluate(engine, HOSTS, today=TODAY).refused}
    with engine.connect() as conn:
        actions = conn.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.entity == "gate_override", AuditEntry.entity_key == str(info.id))
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(a) for a in actions] == [("create", officer), ("update", officer)]


def test_a_cause_override_covers_that_cause_only(engine: Engine, officer: str) -> None:
    make_world(engine)
    load(engine, "attestations", [_attestation("AT-1", "regional_system", "2027-01-15")])
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    add_override(engine, "attestation", "AT-1", reason="переаттестация назначена",
                 valid_until=until, approved_by=officer, actor=officer)  # fmt: skip
    # 20.01.2027: AT-1 expired for all; dc-hw1's keys expired too
    decision = evaluate(engine, HOSTS, today=dt.date(2027, 1, 20))
    assert [r.ref.host for r in decision.refused] == ["dc-hw1"]
    assert len(decision.refused[0].causes) == 2
    assert len(decision.overridden) == len(HOSTS) - 1
    add_override(engine, "vipnet_node", "0x07c40001", reason="ключи заказаны",
                 valid_until=until, approved_by=officer, actor=officer)  # fmt: skip
    assert evaluate(engine, HOSTS, today=dt.date(2027, 1, 20)).refused == []


def _kontur(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``kontur ARGV`` in-process; (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_override_cli(
    engine: Engine,
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_world(engine)
    create_user(engine, "sec.ivanova", "security_officer", password=None, actor="tester")
    until = (dt.date.today() + dt.timedelta(days=10)).strftime("%d.%m.%Y")
    add = ("provision", "override", "add", "--site", "FAP-0001", "--reason", "акт 5", "--until")

    code, _, err = _kontur(capsys, *add, until)  # as KONTUR_ACTOR=tester, an engineer at most
    assert code == 1
    assert "security_officer" in err
    monkeypatch.setenv("KONTUR_ACTOR", "sec.ivanova")
    code, out, err = _kontur(capsys, *add, until)
    assert code == 0, err
    assert f"до {until} 23:59:59, разрешил sec.ivanova" in out
    code, out, _ = _kontur(capsys, "provision", "override", "list")
    assert "площадка FAP-0001" in out
    assert "акт 5" in out
    assert _kontur(capsys, "provision", "override", "revoke", "1")[0] == 0
    assert "FAP-0001" not in _kontur(capsys, "provision", "override", "list")[1]
    assert "FAP-0001" in _kontur(capsys, "provision", "override", "list", "--all")[1]
    assert _kontur(capsys, "provision", "override", "revoke", "7")[0] == 1
    assert _kontur(capsys, *add, "31.02.2026")[0] == 2
    assert (
        _kontur(capsys, "provision", "override", "add", "--reason", "x", "--until", until)[0] == 2
    )
