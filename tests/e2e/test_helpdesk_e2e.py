"""The helpdesk in a real browser: sign in, search a FAP, open its card; the primary channel is
cut in the ledger and the card says «на резервном канале»; "check now" answers without a reload;
the map shows the FAP's state."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from cmdb.choices import Role, State
from cmdb.ledger import Ledger, Observation, Policy
from cmdb.users import create_user
from tests.api.test_helpdesk import BACKUP, CHANNELS, FAP, PRIMARY
from tests.api_fixtures import PASSWORD
from tests.factories import make_world


def _ledger(engine: Engine, start: dt.datetime) -> Ledger:
    ledger = Ledger(
        engine,
        "dc-primary",
        {kind: Policy(down_after=1, up_after=1) for kind in ("channel", "site")},
        gap=dt.timedelta(days=1),
    )
    ledger.start(start)
    return ledger


def _poll(ledger: Ledger, at: dt.datetime, primary: State, site: State) -> None:
    """One collector cycle's worth of ledger writes: channels, the site, failover detection."""
    ledger.record(
        [
            Observation("channel", PRIMARY, at, primary),
            Observation("channel", BACKUP, at, State.UP),
            Observation("site", FAP, at, site),
        ]
    )
    ledger.detect_failover(CHANNELS, at)


@pytest.mark.slow
def test_helpdesk_finds_a_fap_and_sees_it_move_to_the_backup_channel(
    engine: Engine, page: Any, live_server: str, sign_in: Callable[[str], None]
) -> None:
    make_world(engine)
    create_user(engine, "operator", Role.HELPDESK.value, password=PASSWORD, actor="tester")
    now = dt.datetime.now(dt.UTC)
    ledger = _ledger(engine, now - dt.timedelta(minutes=30))
    _poll(ledger, now - dt.timedelta(minutes=20), State.UP, State.UP)

    sign_in("operator")
    assert page.url == f"{live_server}/helpdesk"  # the helpdesk's landing page
    page.get_by_label("Название ФАП, код, район, имя компьютера или ID ViPNet").fill("хутор")
    page.get_by_role("button", name="Найти").click()
    page.get_by_role("link", name="ФАП хутор Первый").click()
    assert page.url == f"{live_server}/helpdesk/sites/FAP-0001"
    assert page.get_by_test_id("site-link").inner_text() == "на основном канале"
    assert "доступен" in page.get_by_test_id("site-reachable").inner_text()

    # The primary channel is cut: the collector's next cycle writes it to the ledger.
    _poll(ledger, now - dt.timedelta(minutes=2), State.DOWN, State.DEGRADED)
    page.reload()
    assert page.get_by_test_id("site-link").inner_text() == "на резервном канале"
    channels = page.get_by_test_id("channels").inner_text()
    assert re.search(r"основной\s+CH-FAP-0001-1.*не работает", channels, re.S)
    outages = page.get_by_test_id("outages").inner_text()
    assert "канал CH-FAP-0001-1" in outages
    assert "продолжается" in outages

    # "Check now" answers in place (the router has no SNMP profile here, so it is not polled).
    page.get_by_role("button", name="Проверить сейчас").click()
    summary = page.get_by_test_id("check-summary")
    summary.wait_for()
    assert "нет данных" in summary.inner_text()
    result = page.locator("#hd-check-result").inner_text()
    assert "устройство fap-0001-rtr" in result
    assert "не опрашивается: нет адреса управления или профиля SNMP" in result
    assert page.url == f"{live_server}/helpdesk/sites/FAP-0001"  # no reload, no navigation

    page.get_by_role("link", name="Карта").click()
    marker = page.locator("#site-FAP-0001")
    assert marker.get_attribute("data-state") == "backup"
    assert marker.locator("title").text_content() == (
        "FAP-0001 — ФАП хутор Первый: на резервном канале"
    )
    assert marker.locator("circle").evaluate("e => getComputedStyle(e).fill") == "rgb(123, 63, 179)"
    marker.click()
    assert page.url == f"{live_server}/helpdesk/sites/FAP-0001"
