"""CRUD of CMDB kinds over the REST API: validation, conflicts, the journal, lists."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cmdb.choices import Role
from cmdb.models import AuditEntry, Device
from tests.factories import make_world


@pytest.fixture
def world(engine: Engine) -> None:
    make_world(engine)


def _h(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_create_get_update_delete_a_device_with_the_journal(
    client: TestClient, engine: Engine, world: None, tokens: dict[Role, str]
) -> None:
    h = _h(tokens, Role.ENGINEER)
    body = {
        "name": "fap-0001-sw",
        "site": "FAP-0001",
        "role": "switch",
        "platform": "mikrotik_routeros",
        "mgmt_address": "127.23.0.9",
    }
    created = client.post("/api/v1/devices", json=body, headers=h)
    assert created.status_code == 201, created.text
    assert created.json()["site"] == "FAP-0001"
    assert client.get("/api/v1/devices/fap-0001-sw", headers=h).json()["mgmt_address"] == (
        "127.23.0.9"
    )
    changed = client.patch(
        "/api/v1/devices/fap-0001-sw", json={"mgmt_address": "127.23.0.10"}, headers=h
    )
    assert changed.status_code == 200
    assert changed.json()["mgmt_address"] == "127.23.0.10"
    assert changed.json()["role"] == "switch"  # untouched fields stay
    assert client.delete("/api/v1/devices/fap-0001-sw", headers=h).status_code == 204
    assert client.get("/api/v1/devices/fap-0001-sw", headers=h).status_code == 404
    with engine.connect() as conn:
        journal = conn.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.before, AuditEntry.after)
            .where(AuditEntry.entity == "device", AuditEntry.entity_key == "fap-0001-sw")
            .order_by(AuditEntry.id)
        ).all()
    assert [(a, actor) for a, actor, _, _ in journal] == [
        ("create", "engineer-user"),
        ("update", "engineer-user"),
        ("delete", "engineer-user"),
    ]
    with engine.connect() as conn:
        sources = conn.scalars(
            select(AuditEntry.source).where(
                AuditEntry.entity == "device", AuditEntry.action == "delete"
            )
        ).all()
    assert sources == ["api"]
    update = journal[1]
    assert update.before["mgmt_address"] == "127.23.0.9"
    assert update.after["mgmt_address"] == "127.23.0.10"


def test_invalid_values_get_422_with_the_field_and_nothing_is_written(
    client: TestClient, engine: Engine, world: None, tokens: dict[Role, str]
) -> None:
    h = _h(tokens, Role.ENGINEER)
    body = {"name": "bad-1", "site": "NO-SUCH-SITE", "role": "router", "platform": "x"}
    response = client.post("/api/v1/devices", json=body, headers=h)
    assert response.status_code == 422
    fields = {tuple(item["loc"]) for item in response.json()["detail"]}
    assert ("body", "site") in fields
    wrong_enum = client.post("/api/v1/devices", json={**body, "role": "toaster"}, headers=h)
    assert wrong_enum.status_code == 422
    assert any(item["loc"][-1] == "role" for item in wrong_enum.json()["detail"])
    unknown = client.post("/api/v1/devices", json={**body, "colour": "red"}, headers=h)
    assert unknown.status_code == 422
    with engine.connect() as conn:
        assert conn.scalar(select(Device.id).where(Device.name == "bad-1")) is None


def test_conflicts_and_unknown_keys(
    client: TestClient, world: None, tokens: dict[Role, str]
) -> None:
    h = _h(tokens, Role.ENGINEER)
    duplicate = client.post(
        "/api/v1/sites", json={"code": "FAP-0001", "name": "x", "kind": "fap"}, headers=h
    )
    assert duplicate.status_code == 409
    still_used = client.delete("/api/v1/sites/FAP-0001", headers=h)
    assert still_used.status_code == 409
    assert client.get("/api/v1/sites/FAP-0001", headers=h).status_code == 200
    assert client.patch("/api/v1/sites/NOPE", json={"name": "x"}, headers=h).status_code == 404
    assert client.delete("/api/v1/sites/NOPE", headers=h).status_code == 404
    renamed = client.patch("/api/v1/sites/FAP-0001", json={"code": "FAP-9"}, headers=h)
    assert renamed.status_code == 422


def test_list_search_filter_sort_and_pages(
    client: TestClient, world: None, tokens: dict[Role, str]
) -> None:
    h = _h(tokens, Role.HELPDESK)  # read-only roles may list
    found = client.get("/api/v1/sites", params={"q": "ФАП ХУТОР"}, headers=h).json()
    assert [item["code"] for item in found["items"]] == ["FAP-0001"]
    by_kind = client.get("/api/v1/sites", params={"filter": "kind=fap"}, headers=h).json()
    assert by_kind["total"] == 1
    by_label = client.get("/api/v1/sites", params={"filter": "kind=ФАП"}, headers=h).json()
    assert by_label["total"] == 1
    by_ref = client.get("/api/v1/workstations", params={"filter": "site=MO-1-M"}, headers=h).json()
    assert sorted(i["hostname"] for i in by_ref["items"]) == ["arm-mo-1-001", "arm-mo-1-002"]
    pages: list[Any] = []
    for number in (1, 2):
        page = client.get(
            "/api/v1/sites",
            params={"sort": "code", "order": "desc", "per_page": 2, "page": number},
            headers=h,
        ).json()
        pages.extend(item["code"] for item in page["items"])
        assert page["total"] == 3
    assert pages == sorted(pages, reverse=True)
    assert len(set(pages)) == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filter": "colour=red"}, "colour"),
        ({"filter": "kind=castle"}, "kind"),
        ({"sort": "colour"}, "sort"),
        ({"filter": "no-equals-sign"}, "filter"),
        ({"filter": "latitude=north"}, "latitude"),
    ],
)
def test_bad_list_parameters_get_422_with_the_reason(
    client: TestClient, world: None, tokens: dict[Role, str], params: dict[str, str], field: str
) -> None:
    response = client.get("/api/v1/sites", params=params, headers=_h(tokens, Role.ENGINEER))
    assert response.status_code == 422
    assert field in response.text


def test_openapi_documents_every_kind(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    from cmdb.kinds import KINDS

    for kind in KINDS:
        assert f"/api/v1/{kind}" in spec["paths"]
        assert {"get", "post"} <= set(spec["paths"][f"/api/v1/{kind}"])
        assert {"get", "patch", "delete"} <= set(spec["paths"][f"/api/v1/{kind}/{{key}}"])
