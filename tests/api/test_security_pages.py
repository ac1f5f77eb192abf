"""The security officer's page: the expiry calendar as of a given day and the crypto nodes."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cmdb.choices import Role, State
from cmdb.ledger import Ledger, Observation
from tests.api.test_status_api import DEMO_ATTESTATIONS
from tests.api_fixtures import login
from tests.factories import load, make_world


def _section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</table>", maxsplit=1)[0]


def _row(table: str, key: str) -> str:
    return next(row for row in table.split("<tr>") if key in row)


def test_demo_reattestation_is_overdue_on_23_11_2026(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    load(engine, "attestations", DEMO_ATTESTATIONS)
    login(client, users[Role.SECURITY_OFFICER])
    page = client.get("/security", params={"today": "23.11.2026"})
    assert page.status_code == 200
    assert "Аттестаты, СКИ и сертификаты на 23.11.2026" in page.text
    calendar = _section(page.text, "calendar")
    row = _row(calendar, "АС-23-2022-001")
    assert "16.12.2025" in row
    assert "просрочен на 342 дн." in row
    assert "переаттестация просрочена" in row
    assert 'class="overdue"' in row
    assert "АС-23-2019-001" not in calendar  # replaced by the re-attestation
    keys = _row(calendar, "0x07c40001")
    assert "СКИ ViPNet" in keys
    assert "истекает через 48 дн." in keys
    # The same page as of a day in 2024: the re-attestation is valid.
    # As of a day in 2024 the re-attestation is valid: listed under «all», not by default
    # (the default shows what needs attention).
    earlier = client.get("/security", params={"today": "2024-11-23", "exp_state": "all"})
    assert "действует" in _row(_section(earlier.text, "calendar"), "АС-23-2022-001")
    default = client.get("/security", params={"today": "2024-11-23"})
    assert "АС-23-2022-001" not in _section(default.text, "calendar")
    # Only expired items, by the state filter.
    only = _section(
        client.get("/security", params={"today": "23.11.2026", "exp_state": "expired"}).text,
        "calendar",
    )
    assert "АС-23-2022-001" in only
    assert "0x07c40001" not in only
    # English labels.
    client.cookies.set("kontur_lang", "en")
    english = _row(
        _section(client.get("/security", params={"today": "2026-11-23"}).text, "calendar"),
        "АС-23-2022-001",
    )
    assert "expired 342 days ago" in english
    assert "re-attestation overdue" in english


def test_crypto_nodes_with_ledger_state_and_key_filters(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    make_world(engine)
    load(
        engine,
        "vipnet-nodes",
        [{"vipnet_id": "0x07c40003", "name": "АРМ старый", "kind": "client",
          "keys_issued_on": "2024-01-01", "keys_valid_until": "2026-01-01"}],
    )  # fmt: skip
    t0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    ledger = Ledger(engine, "dc-primary", {}, dt.timedelta(minutes=10), source="test")
    ledger.start(now=t0)
    ledger.record(
        [Observation("vipnet_node", "0x07c40001", t0 + n * dt.timedelta(minutes=1), State.DOWN)
         for n in range(3)]
        + [Observation("vipnet_node", "0x07c40002", t0 + n * dt.timedelta(minutes=1), State.UP)
           for n in range(3)]
    )  # fmt: skip
    login(client, users[Role.ADMIN])
    page = client.get("/security", params={"today": "23.11.2026"})
    nodes = _section(page.text, "crypto-nodes")
    # The worst first: down, then never seen (unknown), then up.
    order = [key for key in ("0x07c40001", "0x07c40003", "0x07c40002") if key in nodes]
    assert order == ["0x07c40001", "0x07c40003", "0x07c40002"]
    assert nodes.index("0x07c40001") < nodes.index("0x07c40003") < nodes.index("0x07c40002")
    assert "не работает" in _row(nodes, "0x07c40001")
    assert "dc-primary: не работает" in _row(nodes, "0x07c40001")
    assert "нет данных" in _row(nodes, "0x07c40003")
    down = _section(
        client.get("/security", params={"today": "23.11.2026", "node_state": "down"}).text,
        "crypto-nodes",
    )
    assert "0x07c40001" in down
    assert "0x07c40002" not in down
    expired = _section(
        client.get("/security", params={"today": "23.11.2026", "node_keys": "expired"}).text,
        "crypto-nodes",
    )
    assert "0x07c40003" in expired
    assert "0x07c40001" not in expired
    assert "01.01.2026" in expired
    by_name = _section(
        client.get("/security", params={"node_q": "координатор"}).text, "crypto-nodes"
    )
    assert "0x07c40001" in by_name
    assert "0x07c40002" not in by_name


def test_bad_day_is_reported_and_other_roles_are_refused(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    login(client, users[Role.SECURITY_OFFICER])
    page = client.get("/security", params={"today": "31.02.2026"})
    assert page.status_code == 200
    assert "ожидается дата ДД.ММ.ГГГГ" in page.text
    for role in (Role.ENGINEER, Role.HELPDESK):
        client.cookies.clear()
        login(client, users[role])
        assert client.get("/security").status_code == 403
