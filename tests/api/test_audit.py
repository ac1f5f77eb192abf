"""The audit journal over JSON and as a page: filters, pages, CSV/XLSX export, read only."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import openpyxl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cmdb.audit import AuditBatch
from cmdb.choices import Role
from tests.api_fixtures import login
from tests.factories import make_world

MSK = dt.timezone(dt.timedelta(hours=3))


def journal(engine: Engine) -> None:
    """Three changes on known days (Moscow time), by two people."""
    for actor, at, action, entity, key, before, after in (
        ("ivanov", dt.datetime(2026, 3, 1, 9, 0, tzinfo=MSK), "create", "site", "FAP-0100",
         None, {"code": "FAP-0100", "name": "ФАП Новый"}),
        ("petrova", dt.datetime(2026, 3, 2, 0, 30, tzinfo=MSK), "update", "site", "FAP-0100",
         {"name": "ФАП Новый"}, {"name": "ФАП Новый-2"}),
        ("ivanov", dt.datetime(2026, 3, 3, 23, 59, tzinfo=MSK), "delete", "device", "rtr-9",
         {"name": "rtr-9", "site": "FAP-0100"}, None),
    ):  # fmt: skip
        batch = AuditBatch(actor=actor, source="test", at=at.astimezone(dt.UTC))
        batch.add(action, entity, key, before, after)
        with engine.begin() as conn:
            batch.write(conn)


def _auth(tokens: dict[Role, str], role: Role = Role.SECURITY_OFFICER) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_filters_and_newest_first(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    journal(engine)
    auth = _auth(tokens)

    def keys(**params: str) -> list[tuple[str, str]]:
        body = client.get("/api/v1/audit", params={**params, "entity": params.get("entity", "")},
                          headers=auth)  # fmt: skip
        assert body.status_code == 200, body.text
        return [(i["actor"], i["action"]) for i in body.json()["items"] if i["actor"] != "tester"]

    assert keys() == [("ivanov", "delete"), ("petrova", "update"), ("ivanov", "create")]
    assert keys(actor="IVAN") == [("ivanov", "delete"), ("ivanov", "create")]
    assert keys(entity="site") == [("petrova", "update"), ("ivanov", "create")]
    assert keys(action="update") == [("petrova", "update")]
    assert keys(key="rtr-9") == [("ivanov", "delete")]
    # Days are whole days in the region's zone: 00:30 and 23:59 Moscow belong to their own day.
    assert keys(**{"from": "02.03.2026", "to": "02.03.2026"}) == [("petrova", "update")]
    assert keys(**{"from": "2026-03-02"}) == [("ivanov", "delete"), ("petrova", "update")]
    assert keys(**{"to": "01.03.2026"}) == [("ivanov", "create")]
    march = {"from": "01.03.2026", "to": "31.03.2026"}
    page = client.get(
        "/api/v1/audit", params={**march, "per_page": 1, "page": 2}, headers=auth
    ).json()
    assert page["total"] == 3
    assert [i["action"] for i in page["items"]] == ["update"]
    update = client.get("/api/v1/audit", params={"action": "update"}, headers=auth).json()
    assert update["items"][0]["before"] == {"name": "ФАП Новый"}
    assert update["items"][0]["after"] == {"name": "ФАП Новый-2"}


@pytest.mark.parametrize(
    "params",
    [{"action": "erase"}, {"from": "31.02.2026"}, {"from": "2026-03-05", "to": "2026-03-01"},
     {"page": "0"}, {"actor": "x" * 300}, {"key": "FAP\x00"}],
)  # fmt: skip
def test_bad_filters_are_422(
    client: TestClient, engine: Engine, tokens: dict[Role, str], params: dict[str, str]
) -> None:
    response = client.get("/api/v1/audit", params=params, headers=_auth(tokens))
    assert response.status_code == 422
    if "page" not in params:  # an export has no pages
        export = client.get("/api/v1/audit/export", params=params, headers=_auth(tokens))
        assert export.status_code == 422


def test_export_csv_and_xlsx_hold_the_filtered_journal(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    journal(engine)
    auth = _auth(tokens, Role.ADMIN)
    response = client.get(
        "/api/v1/audit/export", params={"format": "csv", "actor": "ivanov"}, headers=auth
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["время", "пользователь", "действие", "объект", "ключ", "источник",
                       "было", "стало"]  # fmt: skip
    assert [r[1:5] for r in rows[1:]] == [
        ["ivanov", "delete", "device", "rtr-9"],
        ["ivanov", "create", "site", "FAP-0100"],
    ]
    assert rows[1][0] == "03.03.2026 23:59:00"  # Moscow time, DD.MM.YYYY
    assert json.loads(rows[1][6]) == {"name": "rtr-9", "site": "FAP-0100"}
    assert rows[1][7] == ""
    xlsx = client.get(
        "/api/v1/audit/export",
        params={"format": "xlsx", "entity": "site", "headers": "en"},
        headers=auth,
    )
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True)
    sheet = book.worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0] == ["time", "actor", "action", "entity", "key", "source", "before", "after"]
    assert [(r[1], r[2], r[4]) for r in values[1:]] == [
        ("petrova", "update", "FAP-0100"),
        ("ivanov", "create", "FAP-0100"),
    ]
    assert json.loads(values[1][7]) == {"name": "ФАП Новый-2"}
    book.close()


@pytest.mark.backend_neutral
def test_no_route_changes_or_deletes_journal_entries(app: FastAPI) -> None:
    routes = []
    for route in app.routes:  # included routers are wrapped (FastAPI >= 0.16x)
        routes += getattr(getattr(route, "original_router", None), "routes", [route])
    journal_routes = [
        route
        for route in routes
        if (getattr(route, "path", None) or "").startswith(("/api/v1/audit", "/audit"))
    ]
    assert journal_routes, "the journal routes exist"
    for route in journal_routes:
        assert set(getattr(route, "methods", set())) <= {"GET", "HEAD"}, route


def test_writes_to_the_journal_are_refused(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    journal(engine)
    auth = _auth(tokens, Role.ADMIN)
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        response = client.request(method, "/api/v1/audit", headers=auth, json={})
        assert response.status_code == 405, method
    assert client.get("/api/v1/audit", headers=auth).json()["total"] >= 3


def test_an_api_write_appears_in_the_journal_with_before_and_after(
    client: TestClient, engine: Engine, tokens: dict[Role, str], users: dict[Role, str]
) -> None:
    make_world(engine)
    changed = client.patch(
        "/api/v1/devices/fap-0001-rtr",
        json={"serial": "SN-42", "vendor": "Mikrotik"},
        headers=_auth(tokens, Role.ENGINEER),
    )
    assert changed.status_code == 200, changed.text
    body = client.get(
        "/api/v1/audit", params={"key": "fap-0001-rtr", "action": "update"}, headers=_auth(tokens)
    ).json()
    assert body["total"] == 1
    entry = body["items"][0]
    assert entry["actor"] == users[Role.ENGINEER]
    assert entry["entity"] == "device"
    assert entry["before"] == {"vendor": None, "serial": None}
    assert entry["after"] == {"vendor": "Mikrotik", "serial": "SN-42"}


def test_only_admin_and_security_officer_read_the_journal(
    client: TestClient, engine: Engine, tokens: dict[Role, str], users: dict[Role, str]
) -> None:
    assert client.get("/api/v1/audit").status_code == 401
    for role in (Role.ENGINEER, Role.HELPDESK, Role.PROJECT_OFFICE):
        assert client.get("/api/v1/audit", headers=_auth(tokens, role)).status_code == 403
        assert client.get("/api/v1/audit/export", headers=_auth(tokens, role)).status_code == 403
    login(client, users[Role.ENGINEER])
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export").status_code == 403


def test_journal_page_filters_shows_the_diff_and_exports(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    journal(engine)
    login(client, users[Role.SECURITY_OFFICER])
    page = client.get("/audit", params={"actor": "petrova", "from": "01.03.2026"})
    assert page.status_code == 200
    table = page.text.split('data-testid="journal"')[1].split("</table>")[0]
    assert "petrova" in table
    assert "ivanov" not in table
    assert "<del>ФАП Новый</del> → <ins>ФАП Новый-2</ins>" in table
    assert "02.03.2026 00:30" in table
    assert "изменение" in table  # the action in Russian
    assert 'href="/audit/export?actor=petrova&amp;from=01.03.2026&amp;format=csv"' in page.text
    export = client.get("/audit/export", params={"actor": "petrova", "format": "csv"})
    assert export.status_code == 200
    lines = export.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2
    assert "petrova" in lines[1]
    bad = client.get("/audit", params={"from": "32.01.2026"})
    assert bad.status_code == 422
    assert "ожидается дата ДД.ММ.ГГГГ" in bad.text
