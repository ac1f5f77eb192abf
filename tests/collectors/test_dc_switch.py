"""Primary/reserve DC switchover, seen from which DC answers at the regional service address."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmdb.ledger import Ledger
from cmdb.models import FailoverEvent
from collectors.adapters import SnmpServiceLocator
from collectors.snmp.client import FastSnmpClient
from tests.collectors.snmp_peers import running_snmpd, settings

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_the_locator_names_the_host_answering_at_the_service_address(tmp_path: Path) -> None:
    with running_snmpd(tmp_path, extra_conf="sysName dc-reserve-srv1\n") as peer:

        async def identify() -> tuple[str | None, str | None]:
            async with FastSnmpClient(settings(), peer.credentials()) as client:
                locator = SnmpServiceLocator(client, peer.port)
                return (
                    await locator.identify(peer.host, "v2c"),
                    await locator.identify(peer.host, "v3"),
                )

        assert asyncio.run(identify()) == ("dc-reserve-srv1", "dc-reserve-srv1")


def test_switch_to_reserve_and_back_is_recorded_once_each(engine: Engine) -> None:
    ledger = Ledger(engine, "dc-primary", {}, dt.timedelta(minutes=5))
    ledger.start(T0)
    assert ledger.detect_dc_switch("DC-PRIMARY", "dc_primary", T0) is None  # the baseline
    assert ledger.detect_dc_switch("DC-PRIMARY", "dc_primary", T0 + dt.timedelta(minutes=1)) is None
    to_reserve = ledger.detect_dc_switch("DC-RESERVE", "dc_reserve", T0 + dt.timedelta(minutes=2))
    assert to_reserve is not None
    assert to_reserve.kind == "dc_reserve_active"
    assert ledger.detect_dc_switch("DC-RESERVE", "dc_reserve", T0 + dt.timedelta(minutes=3)) is None
    assert ledger.detect_dc_switch("SOME-SITE", "mo_main", T0 + dt.timedelta(minutes=4)) is None
    # A restarted collector remembers the reserve is active: its return is still an event.
    again = Ledger(engine, "dc-primary", {}, dt.timedelta(minutes=5))
    again.start(T0 + dt.timedelta(minutes=5))
    back = again.detect_dc_switch("DC-PRIMARY", "dc_primary", T0 + dt.timedelta(minutes=6))
    assert back is not None
    assert back.kind == "dc_primary_active"
    with Session(engine) as session:
        events = [
            (e.kind, e.site_key, e.at)
            for e in session.scalars(select(FailoverEvent).order_by(FailoverEvent.id))
        ]
    assert events == [
        ("dc_reserve_active", "DC-RESERVE", T0 + dt.timedelta(minutes=2)),
        ("dc_primary_active", "DC-PRIMARY", T0 + dt.timedelta(minutes=6)),
    ]
