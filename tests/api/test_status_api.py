"""Status and ledger read endpoints, and the engineer's landing page built on them.

The ledger is filled by the real :class:`cmdb.ledger.Ledger` from observations, as a collector
would: two vantage points, a FAP whose primary channel is down and whose backup carries traffic.
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.web.engineer import provisioning_runs_api
from cmdb.choices import Role, State
from cmdb.ledger import ChannelRef, Ledger, Observation
from tests.api_fixtures import login
from tests.factories import load, make_world

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
CHANNELS = [
    ChannelRef("CH-FAP-0001-1", "FAP-0001", "FAP-0001-WAN", "primary"),
    ChannelRef("CH-FAP-0001-2", "FAP-0001", "FAP-0001-WAN", "backup"),
]


def feed_ledger(engine: Engine) -> None:
    """dc-primary: the FAP's primary channel up twice, then down from T0+2 min (backup up);
    the coordinator node down. dc-reserve sees everything up."""
    primary = Ledger(engine, "dc-primary", {}, dt.timedelta(minutes=10), source="test")
    primary.start(now=T0)
    observations = []
    for n in range(6):
        at = T0 + n * MINUTE
        ch1 = State.UP if n < 2 else State.DOWN
        observations += [
            Observation("channel", "CH-FAP-0001-1", at, ch1),
            Observation("channel", "CH-FAP-0001-2", at, State.UP),
            Observation("device", "fap-0001-rtr", at, State.UP),
            Observation("device", "dc-rtr1", at, State.UP),
            Observation("vipnet_node", "0x07c40001", at, State.DOWN),
        ]
    primary.record(observations)
    primary.detect_failover(CHANNELS, T0 + 5 * MINUTE)
    reserve = Ledger(engine, "dc-reserve", {}, dt.timedelta(minutes=10), source="test")
    reserve.start(now=T0)
    reserve.record(
        Observation("channel", key, T0 + n * MINUTE, State.UP)
        for n in range(3)
        for key in ("CH-FAP-0001-1", "CH-FAP-0001-2")
    )


def _world(engine: Engine) -> None:
    make_world(engine)
    feed_ledger(engine)


def test_current_states_filter_by_state_kind_and_site(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    _world(engine)
    auth = {"Authorization": f"Bearer {tokens[Role.HELPDESK]}"}
    down = client.get("/api/v1/status", params={"state": "down"}, headers=auth).json()
    assert {(i["kind"], i["key"], i["vantage"]) for i in down["items"]} == {
        ("channel", "CH-FAP-0001-1", "dc-primary"),
        ("vipnet_node", "0x07c40001", "dc-primary"),
    }
    channels = client.get("/api/v1/status", params={"kind": "channel"}, headers=auth).json()
    assert channels["total"] == 4  # two channels from two vantages
    at_fap = client.get("/api/v1/status", params={"site": "FAP-0001"}, headers=auth).json()
    keys = {i["key"] for i in at_fap["items"]}
    assert keys == {"CH-FAP-0001-1", "CH-FAP-0001-2", "fap-0001-rtr"}
    assert "dc-rtr1" not in keys
    at_dc = client.get("/api/v1/status", params={"site": "DC-PRIMARY"}, headers=auth).json()
    # The DC ends of both channels, its router and the coordinator's node (via its device).
    assert {i["key"] for i in at_dc["items"]} == {
        "CH-FAP-0001-1", "CH-FAP-0001-2", "dc-rtr1", "0x07c40001",
    }  # fmt: skip
    nowhere = client.get("/api/v1/status", params={"site": "NO-SITE"}, headers=auth).json()
    assert nowhere["total"] == 0
    paged = client.get("/api/v1/status", params={"per_page": 2, "page": 2}, headers=auth).json()
    assert paged["total"] == 7
    assert len(paged["items"]) == 2


def test_object_history_has_from_and_to_per_vantage(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    _world(engine)
    auth = {"Authorization": f"Bearer {tokens[Role.ENGINEER]}"}
    body = client.get("/api/v1/status/channel/CH-FAP-0001-1", headers=auth).json()
    assert {(c["vantage"], c["state"]) for c in body["current"]} == {
        ("dc-primary", "down"),
        ("dc-reserve", "up"),
    }
    primary = [h for h in body["history"] if h["vantage"] == "dc-primary"]
    assert [(h["from_state"], h["to_state"]) for h in primary] == [
        ("up", "down"),
        ("unknown", "up"),
    ]
    # The outage began at the first failed poll (T0 + 2 min), not when debounce confirmed it.
    assert dt.datetime.fromisoformat(primary[0]["at"]) == T0 + 2 * MINUTE
    only = client.get(
        "/api/v1/status/channel/CH-FAP-0001-1", params={"vantage": "dc-reserve"}, headers=auth
    ).json()
    assert {h["vantage"] for h in only["history"]} == {"dc-reserve"}
    unseen = client.get("/api/v1/status/site/NO-SITE", headers=auth).json()
    assert unseen["current"] == []
    assert unseen["history"] == []


def test_failovers_by_site_and_period(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    _world(engine)
    auth = {"Authorization": f"Bearer {tokens[Role.SECURITY_OFFICER]}"}
    body = client.get("/api/v1/failovers", params={"site": "FAP-0001"}, headers=auth).json()
    assert body["total"] == 1
    event = body["items"][0]
    assert event["kind"] == "on_backup"
    assert event["active_channel"] == "CH-FAP-0001-2"
    assert dt.datetime.fromisoformat(event["at"]) == T0 + 2 * MINUTE
    # Period bounds as days (DD.MM.YYYY, the end day inclusive) or ISO times.
    same_day = client.get(
        "/api/v1/failovers", params={"from": "20.11.2026", "to": "20.11.2026"}, headers=auth
    ).json()
    assert same_day["total"] == 1
    later = client.get(
        "/api/v1/failovers", params={"from": "2026-11-20T11:03:00"}, headers=auth
    ).json()  # 11:03 Moscow is 08:03 UTC: after the switch
    assert later["total"] == 0
    assert (
        client.get("/api/v1/failovers", params={"site": "DC-PRIMARY"}, headers=auth).json()["total"]
        == 0
    )


def test_bad_filters_are_422_never_500(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    auth = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    for path, params in (
        ("/api/v1/status", {"kind": "router"}),
        ("/api/v1/status", {"state": "broken"}),
        ("/api/v1/status", {"page": 0}),
        ("/api/v1/status/planet/earth", {}),
        ("/api/v1/failovers", {"from": "31.02.2026"}),
        ("/api/v1/failovers", {"from": "2026-11-21", "to": "2026-11-20"}),
        ("/api/v1/failovers", {"from": "T:"}),
        ("/api/v1/calendar", {"today": "32.13.2026"}),
        ("/api/v1/calendar", {"state": "fine"}),
        ("/api/v1/status", {"site": "FAP\x00"}),
        ("/api/v1/status/site/FAP%00", {}),
        ("/api/v1/failovers", {"site": "\x00"}),
    ):
        response = client.get(path, params=params, headers=auth)
        assert response.status_code == 422, (path, params, response.text)


def test_status_needs_a_caller_and_calendar_the_right_role(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    assert client.get("/api/v1/status").status_code == 401
    assert client.get("/api/v1/failovers").status_code == 401
    helpdesk = {"Authorization": f"Bearer {tokens[Role.HELPDESK]}"}
    assert client.get("/api/v1/status", headers=helpdesk).status_code == 200
    assert client.get("/api/v1/calendar", headers=helpdesk).status_code == 403
    agent = {"Authorization": f"Bearer {tokens[Role.AGENT]}"}
    assert client.get("/api/v1/status", headers=agent).status_code == 403


def test_calendar_shows_the_overdue_reattestation(
    client: TestClient, engine: Engine, tokens: dict[Role, str]
) -> None:
    make_world(engine)
    load(engine, "attestations", DEMO_ATTESTATIONS)
    auth = {"Authorization": f"Bearer {tokens[Role.PROJECT_OFFICE]}"}
    body = client.get("/api/v1/calendar", params={"today": "23.11.2026"}, headers=auth).json()
    assert body["today"] == "2026-11-23"
    by_key = {i["key"]: i for i in body["items"]}
    # Only the newest attestation of the system counts: the 2019 one was replaced in 2022.
    assert "АС-23-2019-001" not in by_key
    reatt = by_key["АС-23-2022-001"]
    assert reatt["until"] == "2025-12-16"
    assert reatt["state"] == "expired"
    assert reatt["overdue"] is True
    assert reatt["state_label"] == "просрочен на 342 дн."
    # The coordinator's keys (until 10.01.2027) are 48 days off: in the 90-day band.
    keys = by_key["0x07c40001"]
    assert (keys["kind"], keys["state"], keys["days_left"]) == ("vipnet_keys", "expiring_90", 48)
    overdue = client.get(
        "/api/v1/calendar", params={"today": "2026-11-23", "state": "overdue"}, headers=auth
    ).json()
    assert [i["key"] for i in overdue["items"]] == ["АС-23-2022-001"]
    english = client.get(
        "/api/v1/calendar",
        params={"today": "2026-11-23", "kind": "attestation", "lang": "en"},
        headers=auth,
    ).json()
    assert english["items"][0]["state_label"] == "expired 342 days ago"
    # A year earlier the same re-attestation was still valid.
    before = client.get("/api/v1/calendar", params={"today": "2024-11-23"}, headers=auth).json()
    assert {i["key"]: i["state"] for i in before["items"]}["АС-23-2022-001"] == "valid"


DEMO_ATTESTATIONS = [
    {
        "number": "АС-23-2019-001",
        "scope": "regional_system",
        "object_name": "ГИС ОМС региона",
        "organization": "ORG-MIAC",
        "kind": "attestation",
        "issued_on": "16.12.2019",
    },
    {
        "number": "АС-23-2022-001",
        "scope": "regional_system",
        "object_name": "ГИС ОМС региона",
        "organization": "ORG-MIAC",
        "kind": "reattestation",
        "issued_on": "16.12.2022",
    },
]


def test_engineer_landing_shows_outages_sites_on_backup_and_runs_panel(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    _world(engine)
    login(client, users[Role.ENGINEER])
    page = client.get("/engineer")
    assert page.status_code == 200
    outages = page.text.split('data-testid="outages"')[1].split("</table>")[0]
    assert "CH-FAP-0001-1" in outages
    assert "0x07c40001" in outages
    assert "fap-0001-rtr" not in outages
    assert "20.11.2026 11:02" in outages  # down since, in Moscow time
    backup = page.text.split('data-testid="on-backup"')[1].split("</table>")[0]
    assert "FAP-0001" in backup
    assert "CH-FAP-0001-2" in backup
    assert "на резерве" in backup
    runs = page.text.split('data-testid="provisioning-runs"')[1].split("</section>")[0]
    if provisioning_runs_api() is None:
        assert "появятся здесь" in runs
    else:
        assert "Запусков развёртывания ещё не было." in runs
    # Back on primary: the site leaves the list.
    ledger = Ledger(engine, "dc-primary", {}, dt.timedelta(minutes=10), source="test")
    ledger.start(now=T0 + 6 * MINUTE)
    ledger.record(
        Observation("channel", "CH-FAP-0001-1", T0 + n * MINUTE, State.UP) for n in (7, 8)
    )
    ledger.detect_failover(CHANNELS, T0 + 8 * MINUTE)
    again = client.get("/engineer")
    assert 'data-testid="on-backup"' not in again.text
    assert "Все площадки работают по основным каналам." in again.text


def test_helpdesk_cannot_open_the_engineer_page(
    client: TestClient, engine: Engine, users: dict[Role, str]
) -> None:
    login(client, users[Role.HELPDESK])
    assert client.get("/engineer").status_code == 403
