"""Gated playbook runs through the real ansible-runner against this machine, events in the CMDB.

Hosts come from the CMDB inventory; the plays reach them with ``connection: local`` (or SSH to a
loopback port nothing listens on, for ``unreachable``), so nothing leaves the machine.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from cmdb.cli.main import main
from cmdb.models import AuditEntry
from cmdb.users import create_user
from provision.gate import add_override
from provision.runner import RunRequest, get_run, list_runs, provision
from tests.factories import load, make_world

pytestmark = pytest.mark.slow

TODAY = dt.date.today()

LOCAL_PLAY = """
- name: Site files
  hosts: fap
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: Write the site file
      ansible.builtin.copy:
        dest: "{out}/{{{{ inventory_hostname }}}}.txt"
        content: "site {{{{ kontur_site.code }}}} {{{{ kontur_object.kind }}}}\\n"
        mode: "0644"
"""

FAILING_PLAYS = """
- name: Local checks
  hosts: fap
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: "{{{{ kontur_site.name }}}}"
    - name: Refuse workstations
      ansible.builtin.fail:
        msg: "АРМ {{{{ inventory_hostname }}}} не готов"
      when: kontur_object.kind == 'workstation'
- name: Routers over SSH
  hosts: role_router
  gather_facts: false
  vars:
    ansible_host: 127.0.0.1
    ansible_port: {port}
    ansible_user: nobody
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def _playbook(tmp_path: Path, text: str, name: str = "site.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _run(engine: Engine, db_url: str, tmp_path: Path, playbook: Path, **request: object):  # type: ignore[no-untyped-def]
    return provision(
        engine,
        RunRequest(playbook, **request),  # type: ignore[arg-type]
        actor="tester",
        database_url=db_url,
        today=TODAY,
        project_dir=tmp_path,
        timeout=300,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_check_shows_the_diff_then_the_real_run_changes(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    make_world(engine)
    out = tmp_path / "out"
    out.mkdir()
    playbook = _playbook(tmp_path, LOCAL_PLAY.format(out=out))

    check = _run(engine, db_url, tmp_path, playbook, limit="district_abinsky", check=True)
    assert check.status == "successful"
    assert list(out.iterdir()) == []  # check mode changed nothing
    run = get_run(engine, check.run_id)
    assert run.check_mode is True
    assert run.limit == "district_abinsky"
    by_host = {e.host: e for e in run.events}
    assert set(by_host) == {"fap-0001-rtr", "arm-fap-0001-001"}
    router = by_host["fap-0001-rtr"]
    assert router.status == "changed"
    assert router.task == "Write the site file"
    assert router.play == "Site files"
    assert (router.object_kind, router.object_key) == ("device", "fap-0001-rtr")
    assert by_host["arm-fap-0001-001"].object_kind == "workstation"
    assert router.diff is not None
    assert "+site FAP-0001 device" in router.diff
    assert f"{out}/fap-0001-rtr.txt" in router.diff
    assert run.counts["changed"] == 2
    assert run.recap["fap-0001-rtr"]["changed"] == 1

    real = _run(engine, db_url, tmp_path, playbook, limit="district_abinsky")
    assert real.status == "successful"
    assert (out / "fap-0001-rtr.txt").read_text(encoding="utf-8") == "site FAP-0001 device\n"
    assert get_run(engine, real.run_id).counts["changed"] == 2
    assert [r.id for r in list_runs(engine)] == [real.run_id, check.run_id]


def test_failed_and_unreachable_hosts_are_recorded(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    make_world(engine)
    playbook = _playbook(tmp_path, FAILING_PLAYS.format(port=_free_port()))
    outcome = _run(engine, db_url, tmp_path, playbook, limit="fap")
    assert outcome.status == "failed"
    run = get_run(engine, outcome.run_id)
    events = [(e.host, e.task, e.status) for e in run.events]
    assert ("fap-0001-rtr", "Say hello", "ok") in events
    assert ("arm-fap-0001-001", "Refuse workstations", "failed") in events
    assert ("fap-0001-rtr", "Refuse workstations", "skipped") in events
    assert ("fap-0001-rtr", "Ping", "unreachable") in events
    assert all(host != "dc-rtr1" for host, _, _ in events)  # outside the limit
    failed = next(e for e in run.events if e.status == "failed")
    assert failed.message == "АРМ arm-fap-0001-001 не готов"
    unreachable = next(e for e in run.events if e.status == "unreachable")
    assert unreachable.message
    assert (run.counts["failed"], run.counts["unreachable"]) == (1, 1)


def test_the_gate_keeps_refused_hosts_out_and_overrides_let_them_in(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    make_world(engine)
    out = tmp_path / "out"
    out.mkdir()
    playbook = _playbook(tmp_path, LOCAL_PLAY.format(out=out))
    expired = (TODAY - dt.timedelta(days=3)).isoformat()
    # the FAP workstation's ViPNet keys have expired: it alone is refused
    load(engine, "vipnet-nodes", [{"vipnet_id": "0x07c40002", "keys_valid_until": expired}])
    outcome = _run(engine, db_url, tmp_path, playbook, limit="fap")
    assert outcome.status == "successful"
    run = get_run(engine, outcome.run_id)
    assert {e.host for e in run.events} == {"fap-0001-rtr"}
    assert sorted(p.name for p in out.iterdir()) == ["fap-0001-rtr.txt"]
    assert [r["host"] for r in run.refused] == ["arm-fap-0001-001"]
    assert run.refused[0]["reasons"][0]["text"].startswith(
        "истёк срок действия ключей (СКИ) узла ViPNet 0x07c40002"
    )

    # the FAP's segment attestation has expired too: every target refused, nothing runs
    load(
        engine,
        "attestations",
        [
            {"number": "AT-FAP", "scope": "mo_segment", "object_name": "ФАП", "site": "FAP-0001",
             "kind": "attestation", "issued_on": "2020-01-01", "valid_until": expired}
        ],
    )  # fmt: skip
    refused = _run(engine, db_url, tmp_path, playbook, limit="fap")
    assert refused.status == "refused"
    run = get_run(engine, refused.run_id)
    assert run.events == []
    assert {r["host"] for r in run.refused} == {"fap-0001-rtr", "arm-fap-0001-001"}

    # a security officer lets the site through until the re-attestation
    create_user(engine, "sec.ivanova", "security_officer", password=None, actor="tester")
    override = add_override(
        engine, "site", "FAP-0001", reason="переаттестация 12/2026",
        valid_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=5),
        approved_by="sec.ivanova", actor="sec.ivanova",
    )  # fmt: skip
    allowed = _run(engine, db_url, tmp_path, playbook, limit="fap")
    assert allowed.status == "successful"
    run = get_run(engine, allowed.run_id)
    assert {e.host for e in run.events} == {"fap-0001-rtr", "arm-fap-0001-001"}
    assert run.refused == []
    assert {r["host"] for r in run.overridden} == {"fap-0001-rtr", "arm-fap-0001-001"}
    with engine.connect() as conn:
        use = conn.execute(select(AuditEntry).where(AuditEntry.entity == "gate_override_use")).one()
    assert use.entity_key == f"{override.id}:run-{allowed.run_id}"
    assert use.after is not None
    assert use.after["approved_by"] == "sec.ivanova"
    assert sorted(use.after["hosts"]) == ["arm-fap-0001-001", "fap-0001-rtr"]


def test_cli_run_show_and_export_evidence(
    engine: Engine,
    db_url: str,
    cli_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_world(engine)
    out = tmp_path / "out"
    out.mkdir()
    playbook = _playbook(tmp_path, LOCAL_PLAY.format(out=out))
    assert main(["provision", str(playbook), "--limit", "district_abinsky", "--check"]) == 0
    printed = capsys.readouterr().out
    assert "запуск № 1 (режим проверки, без изменений)" in printed
    assert "целей: 2; допущено: 2; отказано: 0" in printed
    assert "+site FAP-0001 device" in printed
    assert "запуск № 1: успешно; ok=0 changed=2 failed=0" in printed

    assert main(["provision", "runs"]) == 0
    assert "district_abinsky" in capsys.readouterr().out
    assert main(["provision", "show", "1", "--host", "fap-0001-rtr"]) == 0
    shown = capsys.readouterr().out
    assert "Write the site file" in shown
    assert "arm-fap-0001-001" not in shown

    junit = tmp_path / "verify.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="test_fap" name="test_ntp[ansible://fap-0001-rtr]"/>'
        '<testcase classname="test_fap" name="test_dns[ansible://fap-0001-rtr]">'
        '<failure message="resolver not set">...</failure></testcase>'
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    assert main(["provision", "export", "1", "--format", "json", "--verification", str(junit)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["run"]["check_mode"] is True
    assert {e["host"] for e in document["events"]} == {"fap-0001-rtr", "arm-fap-0001-001"}
    assert document["verification"]["passed"] == 1
    assert document["verification"]["failed"] == 1
    assert document["verification"]["tests"][1]["host"] == "fap-0001-rtr"

    xlsx = tmp_path / "evidence.xlsx"
    assert main(["provision", "export", "1", "--format", "xlsx", "-o", str(xlsx),
                 "--verification", str(junit)]) == 0  # fmt: skip
    book = load_workbook(xlsx)
    assert book.sheetnames == ["Запуск", "Хосты", "События", "Допуск", "Проверка"]
    events = list(book["События"].iter_rows(values_only=True))
    assert len(events) == 3
    assert any("+site FAP-0001 device" in str(row[7]) for row in events[1:])
    assert main(["provision", "show", "99"]) == 1
    assert main(["provision", str(tmp_path / "missing.yml")]) == 2
