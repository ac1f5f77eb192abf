"""The project office in a real browser: last month's uptime with its chart, an overdue control
point closed with evidence, the XLSX report downloaded."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from openpyxl import load_workbook
from sqlalchemy import Engine

import cmdb.users
from cmdb.choices import Role
from tests.api.test_reports_api import add_outage
from tests.factories import control_point, load, make_world

MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small parameters: the per-role users are created in every test."""
    monkeypatch.setattr(cmdb.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def region(engine: Engine) -> dt.date:
    """A one-hour outage on the 5th of last month and a one-off point due 10 days ago."""
    make_world(engine)
    today = dt.datetime.now(MSK).date()
    first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    start = dt.datetime(first.year, first.month, 5, 10, tzinfo=MSK)
    add_outage(engine, "CH-FAP-0001-1", start, start + dt.timedelta(hours=1))
    load(engine, "control-points", [
        control_point(code="3.1", title="Отчёт о доступности каналов", recurrence="once",
                      due_date=today - dt.timedelta(days=10), due_day=None, valid_from=None,
                      valid_until=None, evidence="Отчёт"),
    ])  # fmt: skip
    return first


@pytest.mark.slow
def test_project_office_month_evidence_and_download(
    region: dt.date,
    users: dict[Role, str],
    page: Any,
    sign_in: Callable[[str], None],
    tmp_path: Any,
) -> None:
    sign_in(users[Role.PROJECT_OFFICE])
    assert page.url.endswith("/project")
    assert page.get_by_label("Месяц").input_value() == f"{region.year:04d}-{region.month:02d}"

    table = page.get_by_test_id("uptime-by-district")
    assert table.get_by_role("row", name=re.compile("Абинский район")).is_visible()
    chart = page.locator('svg[data-chart="sli-channel"]')
    assert chart.is_visible()
    assert chart.locator("rect.bar").count() == 1
    assert page.locator('svg[data-chart="outages"] rect.column').count() == 1

    row = page.locator('tr[data-cp^="3.1:"]')
    assert row.get_by_test_id("cp-status").inner_text() == "просрочена"
    row.get_by_text("Приложить подтверждение").click()
    row.get_by_label("Документ").fill("Отчёт о доступности за месяц")
    row.get_by_label("Примечание").fill("направлен в министерство")
    row.get_by_role("button", name="Приложить").click()
    page.wait_for_load_state("networkidle")
    assert "Подтверждение приложено" in page.get_by_role("status").inner_text()
    row = page.locator('tr[data-cp^="3.1:"]')
    assert row.get_by_test_id("cp-status").inner_text() == "выполнена"
    assert "«Отчёт о доступности за месяц»" in row.inner_text()

    with page.expect_download() as info:
        page.get_by_role("link", name="Отчёт о доступности, XLSX").click()
    download = info.value
    assert download.suggested_filename == f"uptime-{region.year:04d}-{region.month:02d}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved)
    cells = [c for r in book["Районы"].iter_rows(values_only=True) for c in r]
    assert "Абинский район" in cells
