"""The network engineer in a real browser: find a site, edit a device, see the change journaled."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select

import cmdb.users
from cmdb.choices import Role
from cmdb.models import Device
from tests.factories import make_world


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small parameters: the per-role users are created in every test."""
    monkeypatch.setattr(cmdb.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.mark.slow
def test_engineer_searches_a_site_and_edits_a_device(
    page: Any,
    live_server: str,
    engine: Engine,
    users: dict[Role, str],
    sign_in: Callable[[str], None],
) -> None:
    make_world(engine)
    sign_in(users[Role.ENGINEER])
    assert page.url == f"{live_server}/engineer"
    assert page.get_by_role("heading", name="Сеть: текущее состояние").is_visible()
    # Find the FAP from the landing page's search box.
    page.get_by_label("Найти площадку по коду, названию или адресу").fill("хутор")
    page.get_by_role("button", name="Поиск").click()
    assert page.get_by_test_id("total").inner_text() == "Найдено: 1"
    page.get_by_role("link", name="FAP-0001").click()
    assert page.get_by_role("heading", name="Площадки: FAP-0001").is_visible()
    # Its router, through the devices list filtered by site.
    page.goto(f"{live_server}/cmdb/devices?f_site=FAP-0001")
    page.get_by_role("link", name="fap-0001-rtr").click()
    page.get_by_role("link", name="Изменить").click()
    assert page.get_by_label("имя").input_value() == "fap-0001-rtr"
    # The site field suggests natural keys from the CMDB as one types.
    page.get_by_label("площадка").fill("FAP")
    suggestion = page.locator('#field-site-list option[value="FAP-0001"]')
    suggestion.wait_for(state="attached")
    assert suggestion.get_attribute("label") == "ФАП хутор Первый"
    page.get_by_label("площадка").fill("FAP-0001")
    page.get_by_label("серийный номер").fill("SN-E2E-1")
    page.get_by_label("статус").select_option(label="обслуживание")
    page.get_by_role("button", name="Сохранить").click()
    page.wait_for_url(re.compile(r"/cmdb/devices/fap-0001-rtr\?saved=1$"))
    assert page.get_by_role("status").inner_text() == "Сохранено."
    fields = page.locator("table.fields")
    assert "SN-E2E-1" in fields.inner_text()
    assert "обслуживание" in fields.inner_text()
    history = page.get_by_test_id("history").inner_text()
    assert users[Role.ENGINEER] in history
    assert "изменение" in history
    assert "SN-E2E-1" in history
    with engine.connect() as conn:
        row = conn.execute(
            select(Device.serial, Device.status).where(Device.name == "fap-0001-rtr")
        ).one()
    assert tuple(row) == ("SN-E2E-1", "maintenance")


@pytest.mark.slow
def test_engineer_sees_a_field_error_and_nothing_changes(
    page: Any,
    live_server: str,
    engine: Engine,
    users: dict[Role, str],
    sign_in: Callable[[str], None],
) -> None:
    make_world(engine)
    sign_in(users[Role.ENGINEER])
    page.goto(f"{live_server}/cmdb/devices/fap-0001-rtr/edit")
    page.get_by_label("адрес управления").fill("10.0.0.300")
    page.get_by_role("button", name="Сохранить").click()
    assert "Ничего не сохранено" in page.get_by_role("alert").inner_text()
    error = page.locator("#field-mgmt_address-error")
    assert "не IP-адрес" in error.inner_text()
    assert page.get_by_label("адрес управления").input_value() == "10.0.0.300"
    with engine.connect() as conn:
        address = conn.scalar(select(Device.mgmt_address).where(Device.name == "fap-0001-rtr"))
    assert address == "127.23.0.3"
