"""CMDB pages: browse, search, filter, create, edit and delete through the real forms."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cmdb.choices import Role
from cmdb.models import AuditEntry, Device, Site
from tests.api_fixtures import login
from tests.factories import make_world


def _journal_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _device(engine: Engine, name: str) -> dict[str, object]:
    with engine.connect() as conn:
        row = conn.execute(select(Device).where(Device.name == name)).mappings().one()
        return dict(row)


def _edit_form(client: TestClient, path: str) -> dict[str, str]:
    """The values a browser would post from the edit form as it is rendered."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    data: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", page.text):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None or value is None:
            continue
        if 'type="checkbox"' not in tag or " checked" in tag:
            data[name.group(1)] = html.unescape(value.group(1))
    for name, body in re.findall(
        r'<select[^>]* name="([^"]+)"[^>]*>(.*?)</select>', page.text, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        data[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(
        r'<textarea[^>]* name="([^"]+)"[^>]*>(.*?)</textarea>', page.text, re.S
    ):
        data[name] = body
    return data


def test_index_lists_kinds_and_search_finds_a_site(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    login(client, users[Role.ENGINEER])
    index = client.get("/cmdb")
    assert index.status_code == 200
    assert "Площадки" in index.text
    assert "Узлы ViPNet" in index.text
    found = client.get("/cmdb/sites", params={"q": "хутор"})
    assert found.status_code == 200
    assert "FAP-0001" in found.text
    assert "DC-PRIMARY" not in found.text
    assert "Найдено: 1" in found.text
    # An enum filter by its Russian label's value; the label is what the user sees.
    fap = client.get("/cmdb/sites", params={"f_kind": "dc_primary"})
    assert "DC-PRIMARY" in fap.text
    assert "FAP-0001" not in fap.text
    assert "основной ЦОД" in fap.text


def test_list_sorts_and_pages(client: TestClient, engine: Engine, users: dict[Role, str]) -> None:
    make_world(engine, upto="sites")
    from tests.factories import load

    load(
        engine,
        "sites",
        [{"code": f"FAP-{n:04d}", "name": f"ФАП {n}", "kind": "fap"} for n in range(2, 40)],
    )
    login(client, users[Role.HELPDESK])
    first = client.get("/cmdb/sites", params={"sort": "code", "order": "desc"})
    codes = re.findall(r'href="/cmdb/sites/([^"?/]+)"', first.text)
    assert codes[0] == "MO-1-M"  # descending by code: M… after F… and D…
    assert "Страница 1 из 2" in first.text
    second = client.get("/cmdb/sites", params={"sort": "code", "order": "desc", "page": 2})
    assert "DC-PRIMARY" in second.text
    assert "DC-PRIMARY" not in first.text
    # An unknown sort column is ignored rather than failing.
    assert client.get("/cmdb/sites", params={"sort": "nope"}).status_code == 200
    assert client.get("/cmdb/no-such-kind").status_code == 404
    # Odd input is a miss, not an error (PostgreSQL refuses NUL characters in strings).
    assert client.get("/cmdb/sites", params={"q": "FAP\x00"}).status_code == 200
    assert client.get("/cmdb/sites/FAP%00").status_code == 404


def test_engineer_edits_a_device_through_the_form_and_it_is_journaled(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    csrf = login(client, users[Role.ENGINEER])
    detail = client.get("/cmdb/devices/fap-0001-rtr")
    assert 'href="/cmdb/devices/fap-0001-rtr/edit"' in detail.text
    data = _edit_form(client, "/cmdb/devices/fap-0001-rtr/edit")
    assert data["site"] == "FAP-0001"
    assert data["role"] == "router"
    data.update(serial="SN-777", vendor="Mikrotik", csrf_token=csrf)
    response = client.post("/cmdb/devices/fap-0001-rtr/edit", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/cmdb/devices/fap-0001-rtr?saved=1"
    row = _device(engine, "fap-0001-rtr")
    assert row["serial"] == "SN-777"
    assert row["mgmt_address"] == "127.23.0.3"  # untouched fields keep their values
    page = client.get(response.headers["location"])
    assert "Сохранено." in page.text
    assert "SN-777" in page.text
    with Session(engine) as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "device", AuditEntry.action == "update")
            .order_by(AuditEntry.id.desc())
        ).first()
    assert entry is not None
    assert entry.actor == users[Role.ENGINEER]
    assert entry.entity_key == "fap-0001-rtr"
    assert entry.before == {"vendor": None, "serial": None}
    assert entry.after == {"vendor": "Mikrotik", "serial": "SN-777"}
    # The record's page shows its history with the user's name.
    history = page.text.split('data-testid="history"')[1]
    assert users[Role.ENGINEER] in history
    assert "SN-777" in history


def test_invalid_value_shows_the_field_error_and_writes_nothing(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    csrf = login(client, users[Role.ENGINEER])
    before = _journal_count(engine)
    data = _edit_form(client, "/cmdb/devices/fap-0001-rtr/edit")
    data.update(mgmt_address="999.1.1.1", site="NO-SUCH-SITE", serial="SN-1", csrf_token=csrf)
    response = client.post("/cmdb/devices/fap-0001-rtr/edit", data=data)
    assert response.status_code == 422
    text = response.text
    assert "Ничего не сохранено" in text
    # Each reason sits next to its own field, and the user's input is kept.
    ip_row = text.split('id="field-mgmt_address"')[1].split("form-row")[0]
    assert 'value="999.1.1.1"' in ip_row  # the user's input is kept
    assert "не IP-адрес" in ip_row.split('id="field-mgmt_address-error"')[1]
    site_row = text.split('id="field-site"')[1].split("form-row")[0]
    assert "NO-SUCH-SITE" in site_row
    assert "field-site-error" in site_row
    assert _journal_count(engine) == before
    row = _device(engine, "fap-0001-rtr")
    assert row["serial"] is None
    assert row["mgmt_address"] == "127.23.0.3"


def test_create_through_the_form_then_delete_with_confirmation(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    csrf = login(client, users[Role.ENGINEER])
    form = client.get("/cmdb/sites/new")
    assert form.status_code == 200
    assert '<option value="fap">ФАП</option>' in form.text
    assert 'type="date"' not in form.text  # sites have no dates; devices neither
    assert 'list="field-district-list"' in form.text  # a reference suggests keys
    response = client.post(
        "/cmdb/sites/new",
        data={"csrf_token": csrf, "code": "FAP-0777", "name": "ФАП станица Новая",
              "kind": "fap", "district": "23-R01", "latitude": "45,1"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303, response.text
    with engine.connect() as conn:
        site = conn.execute(select(Site).where(Site.code == "FAP-0777")).mappings().one()
    assert site["latitude"] == 45.1
    assert site["status"] == "active"
    # The same key again is refused on the key field.
    again = client.post(
        "/cmdb/sites/new",
        data={"csrf_token": csrf, "code": "FAP-0777", "name": "x", "kind": "fap"},
    )
    assert again.status_code == 200
    assert "уже существует" in again.text
    confirm = client.get("/cmdb/sites/FAP-0777/delete")
    assert "Да, удалить FAP-0777" in confirm.text
    gone = client.post(
        "/cmdb/sites/FAP-0777/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert gone.status_code == 303
    with Session(engine) as session:
        assert session.scalar(select(Site.id).where(Site.code == "FAP-0777")) is None
        deleted = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "delete", AuditEntry.entity == "site")
        ).one()
    assert deleted.actor == users[Role.ENGINEER]
    assert deleted.before["name"] == "ФАП станица Новая"


def test_deleting_a_referenced_record_shows_the_conflict(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    csrf = login(client, users[Role.ADMIN])
    response = client.post("/cmdb/sites/FAP-0001/delete", data={"csrf_token": csrf})
    assert response.status_code == 409
    assert "другие записи ссылаются" in response.text
    with engine.connect() as conn:
        assert conn.scalar(select(Site.id).where(Site.code == "FAP-0001")) is not None


def test_dates_and_ref_keys_in_the_vipnet_node_form(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    csrf = login(client, users[Role.ENGINEER])
    data = _edit_form(client, "/cmdb/vipnet-nodes/0x07c40001/edit")
    assert data["keys_valid_until"] == "2027-01-10"
    assert data["enabled"] == "true"
    page = client.get("/cmdb/vipnet-nodes/0x07c40001")
    assert "10.01.2027" in page.text  # shown as DD.MM.YYYY
    data.update(keys_valid_until="2025-01-01", csrf_token=csrf)  # before keys_issued_on
    bad = client.post("/cmdb/vipnet-nodes/0x07c40001/edit", data=data)
    assert bad.status_code == 422
    row = bad.text.split('id="field-keys_valid_until"')[1].split("form-row")[0]
    assert "field-keys_valid_until-error" in row
    # Unticking «enabled» is a change too (an unticked box sends nothing).
    data.update(keys_valid_until="2027-06-01")
    del data["enabled"]
    ok = client.post("/cmdb/vipnet-nodes/0x07c40001/edit", data=data, follow_redirects=False)
    assert ok.status_code == 303
    page = client.get("/cmdb/vipnet-nodes/0x07c40001")
    assert "01.06.2027" in page.text
    assert re.search(r"включён</th>\s*<td>нет</td>", page.text)


def test_read_only_roles_see_no_edit_buttons_and_cannot_post(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    csrf = login(client, users[Role.HELPDESK])
    detail = client.get("/cmdb/devices/fap-0001-rtr")
    assert detail.status_code == 200
    assert "/edit" not in detail.text
    assert "/delete" not in detail.text
    assert "/new" not in client.get("/cmdb/devices").text
    before = _journal_count(engine)
    response = client.post(
        "/cmdb/devices/fap-0001-rtr/edit",
        data={"csrf_token": csrf, "name": "fap-0001-rtr", "serial": "HACK"},
    )
    assert response.status_code == 403
    assert client.get("/cmdb/devices/fap-0001-rtr/edit").status_code == 403
    assert client.post("/cmdb/sites/FAP-0001/delete", data={"csrf_token": csrf}).status_code == 403
    assert _device(engine, "fap-0001-rtr")["serial"] is None
    # Only the refusals were journaled.
    with engine.connect() as conn:
        actions = conn.scalars(select(AuditEntry.action).where(AuditEntry.id > before)).all()
    assert set(actions) == {"deny"}


def test_a_form_post_without_the_csrf_token_is_refused(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    login(client, users[Role.ENGINEER])
    data = _edit_form(client, "/cmdb/devices/fap-0001-rtr/edit")
    data.pop("csrf_token", None)
    data["serial"] = "SN-NO-CSRF"
    response = client.post("/cmdb/devices/fap-0001-rtr/edit", data=data)
    assert response.status_code == 403
    assert _device(engine, "fap-0001-rtr")["serial"] is None
