"""Provisioning runs and gate overrides in the UI and the API.

The run rows are written directly here: these tests check what the screens show of a stored run;
tests/provision/ runs real ansible-runner and checks what gets stored.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from cmdb.choices import Role
from cmdb.models import AuditEntry, GateOverride, ProvisionEvent, ProvisionRun
from cmdb.types import utcnow
from tests.api_fixtures import login
from tests.factories import make_world


@pytest.fixture
def run_id(engine: Engine) -> int:
    make_world(engine)
    now = utcnow()
    with engine.begin() as conn:
        new_id = conn.execute(
            insert(ProvisionRun)
            .values(
                playbook="playbooks/fap.yml",
                limit_pattern="district_abinsky",
                check_mode=True,
                actor="engineer-user",
                started_at=now,
                finished_at=now,
                status="successful",
                hosts=1,
                changed_count=1,
                refused=[
                    {
                        "host": "arm-mo-1-002",
                        "object_kind": "workstation",
                        "object_key": "arm-mo-1-002",
                        "reasons": ["аттестат истёк 16.12.2025"],
                    }
                ],
                overridden=[],
                recap={},
            )
            .returning(ProvisionRun.id)
        ).scalar_one()
        conn.execute(
            insert(ProvisionEvent).values(
                run_id=new_id,
                seq=1,
                host="fap-0001-rtr",
                object_kind="device",
                object_key="fap-0001-rtr",
                task="router config",
                status="changed",
                diff="+ip route 0.0.0.0/0 169.254.10.1 10",
                at=now,
            )
        )
    return int(new_id)


def test_engineer_sees_runs_hosts_tasks_and_diffs(
    client: TestClient, users: dict[Role, str], run_id: int
) -> None:
    login(client, users[Role.ENGINEER])
    listing = client.get("/provisioning")
    assert listing.status_code == 200
    assert "playbooks/fap.yml" in listing.text
    assert "проверка (без изменений)" in listing.text
    detail = client.get(f"/provisioning/runs/{run_id}")
    assert "+ip route 0.0.0.0/0 169.254.10.1 10" in detail.text
    assert "arm-mo-1-002: аттестат истёк 16.12.2025" in detail.text
    assert client.get("/provisioning/runs/999999").status_code == 404


def test_helpdesk_may_not_see_provisioning(
    client: TestClient, users: dict[Role, str], tokens: dict[Role, str], run_id: int
) -> None:
    login(client, users[Role.HELPDESK])
    assert client.get("/provisioning").status_code == 403
    headers = {"Authorization": f"Bearer {tokens[Role.HELPDESK]}"}
    assert client.get("/api/v1/provisioning/runs", headers=headers).status_code == 403


def test_run_over_the_api(client: TestClient, tokens: dict[Role, str], run_id: int) -> None:
    headers = {"Authorization": f"Bearer {tokens[Role.SECURITY_OFFICER]}"}
    body = client.get(f"/api/v1/provisioning/runs/{run_id}", headers=headers).json()
    assert body["events"][0]["diff"] == "+ip route 0.0.0.0/0 169.254.10.1 10"
    assert client.get("/api/v1/provisioning/runs", headers=headers).json()["total"] == 1


def test_security_officer_records_an_override_through_the_form(
    client: TestClient, engine: Engine, users: dict[Role, str], run_id: int
) -> None:
    csrf = login(client, users[Role.SECURITY_OFFICER])
    until = (dt.date.today() + dt.timedelta(days=10)).strftime("%d.%m.%Y")
    form = {
        "csrf_token": csrf,
        "target_kind": "site",
        "target_key": "MO-1-M",
        "reason": "Переаттестация назначена, акт № 5",
        "valid_until": until,
    }
    bad = client.post("/provisioning/overrides", data={**form, "valid_until": "31.02.2027"})
    assert bad.status_code == 422
    assert "Неверная дата" in bad.text
    unknown = client.post("/provisioning/overrides", data={**form, "target_key": "NOPE"})
    assert unknown.status_code == 422
    done = client.post("/provisioning/overrides", data=form, follow_redirects=False)
    assert done.status_code == 303
    with engine.connect() as conn:
        rows = conn.execute(select(GateOverride.target_key, GateOverride.approved_by)).all()
        journal = conn.scalars(
            select(AuditEntry.actor).where(AuditEntry.entity == "gate_override")
        ).all()
    assert rows == [("MO-1-M", users[Role.SECURITY_OFFICER])]
    assert journal == [users[Role.SECURITY_OFFICER]]
    assert "Переаттестация назначена, акт № 5" in client.get("/provisioning").text


def test_engineer_may_not_record_overrides(
    client: TestClient, users: dict[Role, str], run_id: int
) -> None:
    csrf = login(client, users[Role.ENGINEER])
    form = {
        "csrf_token": csrf,
        "target_kind": "site",
        "target_key": "MO-1-M",
        "reason": "сам себе разрешил",
        "valid_until": "01.01.2030",
    }
    assert client.post("/provisioning/overrides", data=form).status_code == 403
    assert "Оформить разрешение" not in client.get("/provisioning").text
