"""List endpoints issue a bounded number of SQL statements whatever the page size.

For every CMDB kind, ``GET /api/v1/<kind>?per_page=5`` and ``?per_page=200`` are counted with a
``before_cursor_execute`` listener on the app's engine; the counts must be equal, with enough rows
(every reference column filled, each row pointing at different objects) that a per-row lookup
would show as a difference of dozens of statements.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from cmdb.choices import Role
from cmdb.kinds import KINDS
from tests.factories import load, make_world

ROWS = 30


def records(n: int) -> dict[str, list[dict[str, Any]]]:
    """``n`` rows of every kind on top of the factory world, each with its own references."""
    r = range(n)
    return {
        "regions": [{"code": f"R{i}", "name": f"Регион {i}"} for i in r],
        "districts": [{"code": f"D{i}", "name": f"Район {i}", "region": f"R{i}"} for i in r],
        "organizations": [
            {"code": f"MO{i}", "kind": "mo", "short_name": f"МО {i}", "full_name": f"МО № {i}",
             "district": f"D{i}"}
            for i in r
        ],
        "sites": [
            {"code": f"S{i}", "name": f"ФАП {i}", "kind": "fap", "district": f"D{i}",
             "organization": f"MO{i}"}
            for i in r
        ],
        "devices": [
            {"name": f"rtr-{i}", "site": f"S{i}", "role": "router",
             "platform": "mikrotik_routeros", "mgmt_address": f"127.24.{i}.1"}
            for i in r
        ],
        "vipnet-networks": [
            {"number": 2000 + i, "name": f"Сеть {i}", "admin_organization": f"MO{i}"} for i in r
        ],
        "vipnet-nodes": [
            {"vipnet_id": f"0x{2000 + i:04x}0001", "network": 2000 + i, "name": f"Узел {i}",
             "kind": "client", "device": f"rtr-{i}"}
            for i in r
        ],
        "workstations": [
            {"hostname": f"arm-{i}", "site": f"S{i}", "inventory_number": f"ИН-{100 + i}",
             "vipnet_node": f"0x{2000 + i:04x}0001"}
            for i in r
        ],
        "channels": [
            {"key": f"CH-{i}", "provider": "PRV-1", "medium": "lte", "a_site": f"S{i}",
             "a_device": f"rtr-{i}", "z_site": "DC-PRIMARY", "z_device": "dc-rtr1"}
            for i in r
        ],
        "attestations": [
            {"number": f"АТ-{i}", "scope": "mo_segment", "object_name": f"Сегмент {i}",
             "site": f"S{i}", "organization": f"MO{i}", "kind": "attestation",
             "issued_on": dt.date(2025, 1, 1), "valid_until": dt.date(2028, 1, 1)}
            for i in r
        ],
        "control-points": [
            {"code": f"CP.{i}", "title": f"Точка {i}", "recurrence": "once",
             "due_date": dt.date(2026, 12, 1)}
            for i in r
        ],
        "indicators": [
            {"code": f"IND.{i}", "title": f"Показатель {i}", "unit": "%",
             "fact_query": "awp_total", "plan_2025": i, "plan_2026": i + 1}
            for i in r
        ],
        "maintenance": [
            {"key": f"MW-{i}", "objects": f"site:S{i}; device:rtr-{i}; channel:CH-{i}",
             "starts_at": "01.12.2026 10:00", "ends_at": "01.12.2026 12:00", "reason": "работы"}
            for i in r
        ],
    }  # fmt: skip


@pytest.fixture
def filled(engine: Engine) -> Engine:
    make_world(engine)
    for kind, rows in records(ROWS).items():
        load(engine, kind, rows)
    return engine


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_records_cover_every_kind() -> None:
    assert set(records(1)) == set(KINDS)


def test_list_queries_do_not_grow_with_the_page_size(
    filled: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    headers = {"Authorization": f"Bearer {tokens[Role.ENGINEER]}"}
    # The first use of a token records when it was last used (a statement outside the list).
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    report = []
    for kind in KINDS:
        counts = []
        for size in (5, 200):
            with counting(filled) as statements:
                response = client.get(f"/api/v1/{kind}?per_page={size}", headers=headers)
            assert response.status_code == 200, (kind, response.text)
            items = response.json()["items"]
            assert len(items) == min(size, response.json()["total"])
            counts.append(len(statements))
        assert len(items) >= ROWS, kind  # the big page really held every generated row
        report.append((kind, *counts))
    unequal = [row for row in report if row[1] != row[2]]
    assert unequal == [], f"(kind, statements at 5, at 200): {unequal}"
