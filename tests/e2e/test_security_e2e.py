"""The security officer in a real browser: the overdue re-attestation, the journal, its export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

import cmdb.users
from cmdb.choices import Role
from tests.api.test_status_api import DEMO_ATTESTATIONS
from tests.factories import load, make_world


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with small parameters: the per-role users are created in every test."""
    monkeypatch.setattr(cmdb.users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.mark.slow
def test_security_officer_sees_overdue_attestation_and_exports_the_journal(
    page: Any,
    live_server: str,
    engine: Engine,
    users: dict[Role, str],
    sign_in: Callable[[str], None],
    tmp_path: Path,
) -> None:
    make_world(engine)
    load(engine, "attestations", DEMO_ATTESTATIONS)
    sign_in(users[Role.SECURITY_OFFICER])
    assert page.url == f"{live_server}/security"
    # The calendar as of 23.11.2026 (the demo's «today»), typed the Russian way.
    page.get_by_label("На дату (ДД.ММ.ГГГГ)").fill("23.11.2026")
    page.get_by_role("button", name="Применить").first.click()
    row = page.get_by_test_id("calendar").locator("tr", has_text="АС-23-2022-001")
    text = row.inner_text()
    assert "16.12.2025" in text
    assert "просрочен" in text
    assert "переаттестация просрочена" in text
    # The journal, filtered by who made the changes (the test factories' actor).
    page.get_by_role("link", name="Журнал аудита").first.click()
    page.get_by_label("Пользователь").fill("tester")
    page.get_by_label("Действие").select_option(label="создание")
    page.get_by_label("Объект").select_option(label="Площадки")
    page.get_by_role("button", name="Применить").click()
    journal = page.get_by_test_id("journal").inner_text()
    assert "FAP-0001" in journal
    assert users[Role.SECURITY_OFFICER] not in journal
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    target = tmp_path / "journal.csv"
    info.value.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["время", "пользователь", "действие"]
    assert {r[1] for r in rows[1:]} == {"tester"}
    assert {r[2] for r in rows[1:]} == {"create"}
    assert {r[3] for r in rows[1:]} == {"site"}
    assert len(rows) == 1 + 3  # the three sites of the test region
