"""The helpdesk: search by every identifier, the FAP card from the ledger, 30-day outages,
"check now" against a real SNMP agent, permissions, and the pages (search, card, map)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select

from cmdb.choices import Role, State
from cmdb.helpdesk import card, down_intervals, search
from cmdb.ledger import ChannelRef, Ledger, Observation, Policy
from cmdb.models import StatusTransition
from cmdb.users import create_api_token, create_user
from tests.api_fixtures import PASSWORD, ZONE, login
from tests.collectors.snmp_peers import (
    SnmpdPeer,
    snmpd_fixture,  # noqa: F401 - the fixture 'snmpd'
)
from tests.factories import load, make_world

FAP = "FAP-0001"
PRIMARY, BACKUP = "CH-FAP-0001-1", "CH-FAP-0001-2"
CHANNELS = [
    ChannelRef(PRIMARY, FAP, "FAP-0001-WAN", "primary"),
    ChannelRef(BACKUP, FAP, "FAP-0001-WAN", "backup"),
]


def cut_primary(engine: Engine, at: dt.datetime, vantage: str = "dc-primary") -> None:
    """Write what a collector writes when a FAP's primary channel is cut and the backup carries:
    both channels up an hour before ``at``, then the primary down, the site degraded, and the
    failover event (through the real ledger, debounce of one poll)."""
    ledger = Ledger(
        engine,
        vantage,
        {kind: Policy(down_after=1, up_after=1) for kind in ("channel", "site", "device")},
        gap=dt.timedelta(days=60),
    )
    ledger.start(at - dt.timedelta(hours=2))
    before = at - dt.timedelta(hours=1)
    ledger.record(
        [
            Observation("channel", PRIMARY, before, State.UP),
            Observation("channel", BACKUP, before, State.UP),
            Observation("site", FAP, before, State.UP),
            Observation("device", "fap-0001-rtr", before, State.UP),
        ]
    )
    ledger.detect_failover(CHANNELS, before)
    ledger.record(
        [
            Observation("channel", PRIMARY, at, State.DOWN),
            Observation("channel", BACKUP, at, State.UP),
            Observation("site", FAP, at, State.DEGRADED),
            Observation("device", "fap-0001-rtr", at, State.UP),
        ]
    )
    assert [e.kind for e in ledger.detect_failover(CHANNELS, at)] == ["on_backup"]


@pytest.fixture
def tokens(engine: Engine) -> dict[Role, str]:
    """An API token per role, for users without passwords (no slow password hashing)."""
    made = {}
    for role in Role:
        name = f"{role.value.replace('_', '-')}-bot"
        create_user(engine, name, role.value, password=None, full_name=name, actor="tester")
        made[role] = create_api_token(engine, name, "tests", actor="tester")
    return made


@pytest.fixture
def world(engine: Engine) -> Engine:
    make_world(engine)
    return engine


def bearer(tokens: dict[Role, str], role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


# --- search -----------------------------------------------------------------------------------


IDENTIFIERS = [
    ("fap-0001", "site", "FAP-0001"),
    ("ХУТОР ПЕРВЫЙ", "site", "FAP-0001"),  # Cyrillic, other case, inside the name
    ("абинский", "district", "Абинский район"),
    ("FAP-0001-RTR", "device", "fap-0001-rtr"),
    ("ARM-FAP-0001", "workstation", "arm-fap-0001-001"),
    ("0x07C40002", "vipnet_node", "0x07c40002"),
    ("07c4.0002", "vipnet_node", "0x07c40002"),
]


def test_search_finds_the_fap_by_each_identifier(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    for query, matched_kind, matched in IDENTIFIERS:
        response = client.get(
            "/api/v1/helpdesk/search", params={"q": query}, headers=bearer(tokens, Role.HELPDESK)
        )
        assert response.status_code == 200
        first = response.json()["items"][0]
        got = (first["code"], first["matched_kind"], first["matched"])
        assert got == (FAP, matched_kind, matched), query
        assert first["url"] == "/helpdesk/sites/FAP-0001"
        assert first["display_label"] == "нет данных"  # nothing in the ledger yet


def test_search_ranks_faps_first_and_shows_state(world: Engine) -> None:
    cut_primary(world, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    hits = search(world, "Абинский", 10)
    assert [h.code for h in hits] == [FAP, "MO-1-M"]  # both in the district, the FAP first
    assert (hits[0].state, hits[0].display) == ("degraded", "backup")
    assert hits[1].display == "unknown"
    assert search(world, "   ", 10) == []
    assert search(world, "нет-такого", 10) == []
    assert search(world, "%", 10) == []  # LIKE wildcards are literal
    assert search(world, "fap\x00", 10) == []  # a NUL (PostgreSQL text cannot hold it)


def test_search_rejects_bad_parameters_and_anonymous(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    headers = bearer(tokens, Role.HELPDESK)
    assert client.get("/api/v1/helpdesk/search", headers=headers).status_code == 422
    assert client.get("/api/v1/helpdesk/search?q=", headers=headers).status_code == 422
    too_many = client.get("/api/v1/helpdesk/search?q=fap&limit=1000", headers=headers)
    assert too_many.status_code == 422
    assert client.get("/api/v1/helpdesk/search?q=fap").status_code == 401


# --- the card ---------------------------------------------------------------------------------


def test_card_shows_backup_channel_provider_contract_and_mo_after_a_cut(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    cut_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=15)
    cut_primary(world, cut_at)
    response = client.get("/api/v1/helpdesk/sites/FAP-0001", headers=bearer(tokens, Role.HELPDESK))
    assert response.status_code == 200
    body = response.json()
    assert body["summary"] == {
        "state_label": "с ухудшением",
        "reachable_label": "доступен",
        "link_label": "на резервном канале",
    }
    site = body["site"]
    assert (site["link"], site["active_channel"], site["reachable"]) == ("backup", BACKUP, True)
    assert site["on_backup_since"].startswith(cut_at.isoformat()[:19])
    assert (site["district"], site["organization"]) == ("Абинский район", "ЦРБ № 1")
    assert (site["latitude"], site["longitude"]) == (44.9, 38.1)
    primary, backup = site["channels"]
    assert (primary["key"], primary["role"], primary["now"]["state"]) == (
        PRIMARY,
        "primary",
        "down",
    )
    assert (primary["provider"], primary["contract_number"], primary["contract_date"]) == (
        "ООО «Связь»", "12/2026", "2026-01-15",
    )  # fmt: skip
    assert (primary["medium"], primary["bandwidth_mbps"], primary["carrying"]) == (
        "copper", 20.0, False,
    )  # fmt: skip
    assert (backup["key"], backup["now"]["state"], backup["carrying"]) == (BACKUP, "up", True)
    [node] = site["nodes"]
    assert (node["vipnet_id"], node["holder"], node["keys_valid_until"]) == (
        "0x07c40002", "arm-fap-0001-001", "2027-02-01",
    )  # fmt: skip
    [device] = site["devices"]
    assert (device["name"], device["now"]["state"]) == ("fap-0001-rtr", "up")
    # The primary is down since the cut: an outage that is still going on.
    [outage] = site["outages"]
    assert (outage["object_kind"], outage["object_key"], outage["end"]) == (
        "channel",
        PRIMARY,
        None,
    )
    assert site["last_failure"]["object_key"] == PRIMARY


def test_card_of_an_unknown_site_is_404_and_of_a_quiet_site_says_no_data(
    world: Engine, client: TestClient, tokens: dict[Role, str]
) -> None:
    headers = bearer(tokens, Role.SECURITY_OFFICER)
    assert client.get("/api/v1/helpdesk/sites/FAP-9999", headers=headers).status_code == 404
    assert client.get("/api/v1/helpdesk/sites/FAP%00", headers=headers).status_code == 404
    body = client.get("/api/v1/helpdesk/sites/FAP-0001", headers=headers).json()
    assert body["summary"]["link_label"] == "нет данных"
    assert body["site"]["reachable"] is None
    assert body["site"]["outages"] == []


def _transitions(engine: Engine, rows: list[tuple[dt.datetime, str, str]]) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(StatusTransition),
            [
                {"object_kind": "site", "object_key": FAP, "vantage": vantage, "at": at,
                 "state": state, "source": "test"}
                for at, vantage, state in rows
            ],
        )  # fmt: skip


def test_outages_of_30_days_merge_vantages(world: Engine) -> None:
    now = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
    day = dt.timedelta(days=1)
    a, b = "dc-primary", "dc-reserve"
    _transitions(world, [
        # 40 days ago, over before the window: not listed
        (now - 40 * day, a, "down"), (now - 40 * day, b, "down"),
        (now - 39 * day, a, "up"), (now - 39 * day, b, "up"),
        # begun before the window, ended inside it: clipped to the window's start
        (now - 31 * day, a, "down"), (now - 31 * day, b, "down"),
        (now - 29 * day, a, "up"), (now - 29 * day, b, "up"),
        # down only once both say so (b 5 minutes later); up as soon as one is up
        (now - 10 * day, a, "down"), (now - 10 * day + dt.timedelta(minutes=5), b, "down"),
        (now - 10 * day + dt.timedelta(hours=1), a, "up"),
        (now - 10 * day + dt.timedelta(hours=2), b, "up"),
        # one vantage alone says down while the other sees it up: not an outage
        (now - 5 * day, a, "down"), (now - 5 * day + dt.timedelta(hours=1), a, "up"),
        # b blind (unknown) and a says down: down (the only vantage with data)
        (now - 3 * day, b, "unknown"), (now - 3 * day, a, "down"),
        (now - 3 * day + dt.timedelta(minutes=30), a, "up"),
        (now - 3 * day + dt.timedelta(minutes=40), b, "up"),
        # going on now
        (now - dt.timedelta(hours=1), a, "down"), (now - dt.timedelta(hours=1), b, "down"),
    ])  # fmt: skip
    site = card(world, FAP, now, ZONE)
    got = [(o.start, o.end, o.clipped) for o in site.outages]
    assert got == [
        (now - dt.timedelta(hours=1), None, False),
        (now - 3 * day, now - 3 * day + dt.timedelta(minutes=30), False),
        (now - 10 * day + dt.timedelta(minutes=5), now - 10 * day + dt.timedelta(hours=1), False),
        (now - 30 * day, now - 29 * day, True),
    ]
    assert [o.duration_s for o in site.outages][:2] == [3600.0, 1800.0]
    assert site.last_failure == site.outages[0]


@pytest.mark.backend_neutral
def test_down_intervals_ignore_zero_length_downs() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    t1 = t0 + dt.timedelta(minutes=1)
    # a goes down as b comes up at the same instant: never both down
    events = [(t1, "a", "down"), (t1, "b", "up")]
    assert down_intervals(events, {"a": "up", "b": "down"}, t0, t0 + dt.timedelta(hours=1)) == []
    end = t0 + dt.timedelta(hours=1)
    assert down_intervals([], {}, t0, end) == []  # no data is not down


def test_card_lists_current_upcoming_and_recent_maintenance_only_of_this_site(
    world: Engine,
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    load(world, "maintenance", [
        {"key": "MW-NOW", "objects": "site:FAP-0001", "starts_at": now - hour,
         "ends_at": now + hour, "reason": "замена маршрутизатора"},
        {"key": "MW-SOON", "objects": "channel:CH-FAP-0001-2", "starts_at": now + 5 * day,
         "ends_at": now + 5 * day + hour, "reason": "работы оператора"},
        {"key": "MW-PAST", "objects": "vipnet_node:0x07c40002", "starts_at": now - 3 * day,
         "ends_at": now - 3 * day + hour, "reason": "смена ключей"},
        {"key": "MW-OLD", "objects": "site:FAP-0001", "starts_at": now - 60 * day,
         "ends_at": now - 60 * day + hour, "reason": "давно"},
        {"key": "MW-OTHER", "objects": "site:MO-1-M", "starts_at": now - hour,
         "ends_at": now + hour, "reason": "не наша площадка"},
    ])  # fmt: skip
    site = card(world, FAP, now, ZONE)
    assert [(m.key, m.when) for m in site.maintenance] == [
        ("MW-NOW", "current"), ("MW-SOON", "upcoming"), ("MW-PAST", "recent"),
    ]  # fmt: skip
    assert site.in_maintenance


# --- check now against a real SNMP agent -------------------------------------------------------


@pytest.fixture
def snmp_env(snmpd: SnmpdPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SnmpdPeer:
    """The collectors' settings pointing at the test agent (credentials file, port)."""
    creds = tmp_path / "snmp.yml"
    creds.write_text(
        f"profiles:\n  v2c-test:\n    version: v2c\n    community: {snmpd.community}\n"
    )
    monkeypatch.setenv("KONTUR_COLLECTOR__SNMP__CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("KONTUR_COLLECTOR__SNMP__PORT", str(snmpd.port))
    return snmpd


def _point_router_at(engine: Engine, host: str) -> None:
    load(engine, "devices", [
        {"name": "fap-0001-rtr", "site": FAP, "role": "router", "platform": "linux",
         "mgmt_address": host, "snmp_profile": "v2c-test"},
    ])  # fmt: skip
    # The primary channel's A end is the router's 'lo' (up on the agent), probed at 127.0.0.1.
    load(engine, "channels", [
        {"key": PRIMARY, "a_site": FAP, "z_site": "DC-PRIMARY", "medium": "copper",
         "a_device": "fap-0001-rtr", "a_interface": "lo", "a_address": host, "role": "primary"},
    ])  # fmt: skip


def _ledger_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(StatusTransition)) or 0)


def test_check_now_polls_the_real_agent_reachable(
    world: Engine, snmp_env: SnmpdPeer, client: TestClient, tokens: dict[Role, str]
) -> None:
    _point_router_at(world, snmp_env.host)
    before = _ledger_rows(world)
    response = client.post(
        "/api/v1/helpdesk/sites/FAP-0001/check", headers=bearer(tokens, Role.HELPDESK)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["reachable"], body["reachable_label"], body["recorded"]) == (
        True, "доступен", False,
    )  # fmt: skip
    objects = {(o["kind"], o["key"]): o for o in body["objects"]}
    assert objects[("device", "fap-0001-rtr")]["state"] == "up"
    assert objects[("channel", PRIMARY)]["state"] == "up"
    # the backup has no address and no A-end device: nothing to poll, no guess
    assert objects[("channel", BACKUP)]["state"] == "unknown"
    assert _ledger_rows(world) == before  # a live check is not written to the ledger


def test_check_now_reports_an_unreachable_router(
    world: Engine, snmp_env: SnmpdPeer, client: TestClient, tokens: dict[Role, str]
) -> None:
    # 127.0.0.2: on loopback, but no agent listens there
    load(world, "devices", [
        {"name": "fap-0001-rtr", "site": FAP, "role": "router", "platform": "linux",
         "mgmt_address": "127.0.0.2", "snmp_profile": "v2c-test"},
    ])  # fmt: skip
    response = client.post(
        "/api/v1/helpdesk/sites/FAP-0001/check", headers=bearer(tokens, Role.ENGINEER)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["reachable"], body["reachable_label"]) == (False, "недоступен")
    device = next(o for o in body["objects"] if o["kind"] == "device")
    assert (device["state"], device["state_label"], device["detail"]) == (
        "down", "не работает", "timeout",
    )  # fmt: skip


def test_check_now_permissions_and_csrf(
    world: Engine, client: TestClient, tokens: dict[Role, str], people: dict[Role, str]
) -> None:
    url = "/api/v1/helpdesk/sites/FAP-0001/check"
    assert client.post(url).status_code == 401
    assert client.post(url, headers=bearer(tokens, Role.PROJECT_OFFICE)).status_code == 403
    assert client.post(url, headers=bearer(tokens, Role.SECURITY_OFFICER)).status_code == 403
    assert client.post(url, headers=bearer(tokens, Role.AGENT)).status_code == 403
    missing = client.post(
        "/api/v1/helpdesk/sites/FAP-9999/check", headers=bearer(tokens, Role.HELPDESK)
    )
    assert missing.status_code == 404
    csrf = login(client, people[Role.HELPDESK])
    assert client.post(url).status_code == 403  # a session without the CSRF header
    checked = client.post(url, headers={"X-CSRF-Token": csrf})
    assert checked.status_code == 200
    # no SNMP credentials configured here: the router is not polled, and says why
    device = next(o for o in checked.json()["objects"] if o["kind"] == "device")
    assert device["state"] == "unknown"
    assert "не опрашивается" in device["detail"] or "не опрошено" in device["detail"]


# --- pages -------------------------------------------------------------------------------------


@pytest.fixture
def people(engine: Engine) -> dict[Role, str]:
    """Users with the test password, only for the roles the page tests sign in as."""
    made = {}
    for role in (Role.HELPDESK, Role.PROJECT_OFFICE):
        name = f"{role.value.replace('_', '-')}-person"
        create_user(engine, name, role.value, password=PASSWORD, full_name=name, actor="tester")
        made[role] = name
    return made


@pytest.fixture
def signed_in(client: TestClient, people: dict[Role, str]) -> Any:
    def sign(role: Role) -> str:
        return login(client, people[role])

    return sign


def test_search_page_lists_matches_with_state_and_links(
    world: Engine, client: TestClient, signed_in: Any
) -> None:
    cut_primary(world, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    signed_in(Role.HELPDESK)
    page = client.get("/helpdesk", params={"q": "хутор"})
    assert page.status_code == 200
    assert 'href="/helpdesk/sites/FAP-0001"' in page.text
    assert "на резервном канале" in page.text
    assert "Найдено: 1" in page.text
    none = client.get("/helpdesk", params={"q": "Урюпинск"})
    assert "По запросу «Урюпинск» ничего не найдено." in none.text
    assert 'label for="hd-q"' in client.get("/helpdesk").text


def test_card_page_shows_state_and_the_check_button_only_to_who_may_check(
    world: Engine, client: TestClient, signed_in: Any
) -> None:
    cut_primary(world, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    signed_in(Role.HELPDESK)
    page = client.get("/helpdesk/sites/FAP-0001")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    for expected in (
        "на резервном канале",
        "доступен",
        "ЦРБ № 1",
        "№ 12/2026 от 15.01.2026",
        "0x07c40002",
        "01.02.2027",
        "Проверить сейчас",
        "Сбои за последние 30 дней",
    ):
        assert expected in text, expected  # fmt: skip
    assert '<meta name="csrf-token" content="' in page.text
    assert '<script src="/static/helpdesk.js"' in page.text
    assert client.get("/helpdesk/sites/FAP-9999").status_code == 404
    client.post("/logout", data={"csrf_token": re.findall(r'name="csrf_token" value="([^"]+)"',
                                                           page.text)[0]})  # fmt: skip
    signed_in(Role.PROJECT_OFFICE)
    other = client.get("/helpdesk/sites/FAP-0001")
    assert other.status_code == 200
    assert "Проверить сейчас" not in other.text
    client.cookies.set("kontur_lang", "en")
    english = client.get("/helpdesk/sites/FAP-0001")
    assert "on the backup channel" in english.text


def test_pages_need_a_session(world: Engine, client: TestClient) -> None:
    for path in ("/helpdesk", "/helpdesk/sites/FAP-0001", "/map"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_kind_words_narrow_the_search_to_faps(world: Engine) -> None:
    assert [h.code for h in search(world, "ФАП", 10)] == [FAP]  # «ФАП» alone lists the FAPs
    assert [h.code for h in search(world, "фап абинский", 10)] == [FAP]  # not the MO site
    assert search(world, "ФП", 10) == []  # no FP in this world


# --- the hostname trigram index (SQLite) ------------------------------------------------------

HOSTNAME_NEEDLES = [
    "fap-0001",  # the index
    "ARM-FAP-0001-00",  # the index, other case
    "001",  # the index, three characters
    "01",  # two characters: the scan
    "fap_0002",  # a typed wildcard: the scan, and it matches only a literal underscore
    "mo-1",
    "arm-zz-404",  # nothing
    "хутор перв",  # a site name in Cyrillic: the site index
    "ХУТОР",  # other case
    "хут",  # three characters
    "ху",  # two: the scan
    'хутор "перв',  # a quote in the needle: a literal character in the FTS5 phrase
]


def _search_all(engine: Engine) -> list[list[tuple[str, str, str]]]:
    return [
        [(h.code, h.matched_kind, h.matched) for h in search(engine, needle, 50)]
        for needle in HOSTNAME_NEEDLES
    ]


def test_search_through_the_trigram_indexes_finds_what_the_scan_finds(
    world: Engine,
) -> None:
    if world.dialect.name != "sqlite":
        pytest.skip(
            "the FTS5 trigram indexes are SQLite's (migration 0008); PostgreSQL has pg_trgm"
        )
    from sqlalchemy import event, text

    from cmdb import helpdesk
    from cmdb.services import delete_record
    from tests.factories import ACTOR

    load(
        world,
        "workstations",
        [
            {"hostname": "arm-fap-0001-002", "site": "FAP-0001", "inventory_number": "ИН-7"},
            {"hostname": "arm_fap_0002", "site": "MO-1-M", "inventory_number": "ИН-8"},
            {"hostname": "armxfapx0002", "site": "MO-1-M", "inventory_number": "ИН-9"},
        ],
    )
    assert helpdesk._has_search_indexes(world)
    statements: list[str] = []
    event.listen(world, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with_index = _search_all(world)
    used = [s for s in statements if "workstation_hostname_fts" in s]
    assert len(used) == 5  # every ASCII needle but «01» (too short) and «fap_0002» (a wildcard)
    assert len([s for s in statements if "site_name_fts MATCH" in s]) == 4  # but «ху»
    assert [code for code, _, _ in with_index[7]] == [FAP]
    assert with_index[8] == with_index[9] == with_index[7]
    assert with_index[11] == []
    assert [(code, kind) for code, kind, _ in with_index[1]] == [(FAP, "workstation")]
    assert [m for _, k, m in with_index[4] if k == "workstation"] == ["arm_fap_0002"]
    assert with_index[6] == []
    # The triggers keep the index exact: a renamed AWP is found by its new name only, a deleted
    # one not at all.
    with world.begin() as conn:
        conn.execute(
            text("UPDATE workstation SET hostname = 'arm-fap-0001-777' "
                 "WHERE hostname = 'arm-fap-0001-002'")
        )  # fmt: skip
    delete_record(world, "workstations", "armxfapx0002", actor=ACTOR, zone=ZONE)
    with world.begin() as conn:
        conn.execute(
            text("UPDATE site SET name = 'Хутор Второй-Новый' WHERE code = 'FAP-0001'")
        )  # fmt: skip
    assert [h.code for h in search(world, "второй-нов", 50)] == [FAP]
    assert search(world, "хутор перв", 50) == []
    found = [h.matched for h in search(world, "0001-7", 50)]
    assert found == ["arm-fap-0001-777"]
    assert search(world, "0001-002", 50) == []
    assert search(world, "armxfap", 50) == []
    with_index = _search_all(world)
    # The same searches by scanning, with the index gone: the same answers.
    with world.begin() as conn:
        for index in ("workstation_hostname_fts", "site_name_fts"):
            for name in ("ai", "ad", "au"):
                conn.execute(text(f"DROP TRIGGER {index}_{name}"))
            conn.execute(text(f"DROP TABLE {index}"))
    helpdesk._search_indexes.clear()
    assert not helpdesk._has_search_indexes(world)
    statements.clear()
    assert _search_all(world) == with_index
    assert not any("_fts" in s for s in statements)


def test_postgresql_searches_can_use_the_trigram_indexes(world: Engine) -> None:
    if world.dialect.name != "postgresql":
        pytest.skip("pg_trgm indexes are PostgreSQL's (migration 0008); SQLite has FTS5")
    from sqlalchemy import text

    from cmdb import helpdesk

    with world.connect() as conn:
        have = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first()
    if have is None:
        pytest.skip("pg_trgm could not be created on this server: the search scans")
    params = {"pat": "%fap-0001%", "plainpat": "%fap-0001%", "hexpat": "%%", "phrase": ""}
    queries = dict(helpdesk._search_queries(False, True, False, False, 80))
    with world.connect() as conn:
        # The tiny test world is cheaper to scan: forbid scans (of the table, or of another
        # index) to see that the trigram indexes are usable, i.e. that they index exactly the
        # expressions the search's statements filter on. GIN is read by bitmap scans.
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            conn.execute(text(f"SET enable_{scan} = off"))
        for kind, index in (
            ("workstation", "ix_workstation_hostname_trgm"),
            ("site", "ix_site_code_trgm"),
            ("device", "ix_device_name_trgm"),
        ):
            compiled = queries[kind].compile(dialect=world.dialect)
            plan = conn.exec_driver_sql(
                f"EXPLAIN {compiled}", compiled.construct_params(params)
            ).all()
            assert index in "\n".join(row[0] for row in plan), kind
    # And the answers are those of the scan.
    assert [h.code for h in search(world, "ARM-FAP-0001", 10)] == [FAP]
    assert [h.code for h in search(world, "хутор перв", 10)] == [FAP]
