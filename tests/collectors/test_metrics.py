"""The collector's metrics: states and their start from the real ledger, CMDB context, expiries.

No SNMP here: the ledger is fed observations directly (what a cycle would derive) and
``collector.targets`` is read from the CMDB, so each family is checked against data we control.
The poller and prober are never called (no cycle runs); they are inert placeholders.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine

from cmdb.choices import State
from cmdb.ledger import Observation
from collectors.metrics import register_metrics
from collectors.runner import Collector, CycleReport, DeviceResult
from collectors.settings import CollectorSettings, Debounce
from collectors.targets import DeviceTarget, load_targets
from tests.factories import load, make_world

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
MSK = ZoneInfo("Europe/Moscow")


class _NeverPolled:
    async def poll(self, device: DeviceTarget) -> DeviceResult:
        raise AssertionError("no cycle runs in these tests")


def _collector(engine: Engine, now: dt.datetime = NOW) -> tuple[Collector, CollectorRegistry]:
    settings = CollectorSettings(
        vantage="dc-primary",
        interval_s=30,
        debounce_channel=Debounce(down_after=1, up_after=1),
    )
    collector = Collector(engine, settings, _NeverPolled(), None, clock=lambda: now)
    registry = CollectorRegistry()
    register_metrics(registry, collector)
    collector.ledger.start(now - dt.timedelta(minutes=10))
    collector.targets = load_targets(engine)
    return collector, registry


def _report(at: dt.datetime) -> CycleReport:
    return CycleReport(at, 0.5, 0, 0, 0, [], [], [], [], {})


def test_state_since_is_the_ledgers_first_observation_of_the_state(engine: Engine) -> None:
    make_world(engine)
    collector, registry = _collector(engine)
    # Within the gap (30 s × 2.5): a longer silence would make the channel unknown first.
    t0, t1 = NOW - dt.timedelta(seconds=70), NOW - dt.timedelta(seconds=35)
    ledger = collector.ledger
    ledger.record([Observation("channel", "CH-FAP-0001-1", t0, State.UP)])
    ledger.record([Observation("channel", "CH-FAP-0001-1", t1, State.DOWN)])
    ledger.record([Observation("channel", "CH-FAP-0001-1", NOW, State.DOWN)])
    labels = {
        "channel": "CH-FAP-0001-1",
        "site": "FAP-0001",
        "role": "primary",
        "redundancy_group": "FAP-0001-WAN",
        "vantage": "dc-primary",
    }
    assert registry.get_sample_value("kontur_channel_up", labels) == 0.0
    since = registry.get_sample_value("kontur_channel_state_since_timestamp_seconds", labels)
    assert since == t1.timestamp()
    # The backup was never observed: no up sample (a gap is not an outage), no since either.
    backup = {**labels, "channel": "CH-FAP-0001-2", "role": "backup"}
    assert registry.get_sample_value("kontur_channel_up", backup) is None
    assert registry.get_sample_value("kontur_channel_state_since_timestamp_seconds", backup) is None

    ledger.record([Observation("vipnet_node", "0x07c40001", t0, State.DOWN)])
    node = {"vipnet_id": "0x07c40001", "kind": "coordinator", "vantage": "dc-primary"}
    assert registry.get_sample_value("kontur_vipnet_node_up", node) == 0.0
    assert (
        registry.get_sample_value("kontur_vipnet_node_state_since_timestamp_seconds", node)
        == t0.timestamp()
    )
    # The node's context is re-read after a cycle: its name, site and district join alerts.
    collector.listeners[-1].cycle_finished(_report(NOW))
    info = {
        "vipnet_id": "0x07c40001",
        "name": "Координатор ЦОД",
        "site": "DC-PRIMARY",
        "district": "23-G01",
        "district_name": "городской округ Краснодар",
        "vantage": "dc-primary",
    }
    assert registry.get_sample_value("kontur_vipnet_node_info", info) == 1.0
    # The client has never been seen: no info series for it (bounded by the known nodes).
    assert (
        "0x07c40002"
        not in generate_latest(registry)
        .decode()
        .split("kontur_vipnet_node_info")[-1]
        .split("# HELP")[0]
    )


def test_site_info_names_every_site_with_its_district(engine: Engine) -> None:
    make_world(engine)
    _unused, registry = _collector(engine)
    fap = {
        "site": "FAP-0001",
        "site_name": "ФАП хутор Первый",
        "site_kind": "fap",
        "district": "23-R01",
        "district_name": "Абинский район",
        "vantage": "dc-primary",
    }
    assert registry.get_sample_value("kontur_site_info", fap) == 1.0
    text = generate_latest(registry).decode()
    assert text.count("kontur_site_info{") == 3  # DC-PRIMARY, MO-1-M, FAP-0001
    # Families with no sample yet still announce themselves (dashboards check the names).
    assert "# TYPE kontur_dc_active gauge" in text


def test_expiry_dates_follow_the_calendar_and_refresh_after_each_cycle(engine: Engine) -> None:
    make_world(engine)
    load(
        engine,
        "attestations",
        [
            {"number": "АС-1", "scope": "regional_system", "object_name": "ГИС",
             "organization": "MO-1", "kind": "attestation", "issued_on": "16.12.2022"},
            {"number": "АС-2", "scope": "mo_segment", "object_name": "Сегмент ЦРБ",
             "site": "MO-1-M", "kind": "attestation", "issued_on": "01.06.2026"},
        ],
    )  # fmt: skip
    collector, registry = _collector(engine)

    def keyset(vipnet_id: str) -> float | None:
        text = generate_latest(registry).decode()
        for line in text.splitlines():
            if line.startswith("kontur_vipnet_keyset_expiry_timestamp_seconds{") and (
                f'vipnet_id="{vipnet_id}"' in line
            ):
                return float(line.rsplit(" ", 1)[1])
        return None

    # Key set valid through 10.01.2027: it stops being valid at 11.01.2027 00:00 Moscow time.
    end = dt.datetime(2027, 1, 11, tzinfo=MSK).timestamp()
    coordinator = {
        "vipnet_id": "0x07c40001", "name": "Координатор ЦОД", "kind": "coordinator",
        "site": "DC-PRIMARY", "district": "23-G01", "district_name": "городской округ Краснодар",
    }  # fmt: skip
    assert (
        registry.get_sample_value("kontur_vipnet_keyset_expiry_timestamp_seconds", coordinator)
        == end
    )
    # The client's node stands where its AWP does.
    client_cert = {
        "vipnet_id": "0x07c40002", "name": "АРМ ФАП-0001", "kind": "client", "site": "FAP-0001",
        "district": "23-R01", "district_name": "Абинский район",
    }  # fmt: skip
    assert (
        registry.get_sample_value("kontur_vipnet_certificate_expiry_timestamp_seconds", client_cert)
        == dt.datetime(2027, 2, 2, tzinfo=MSK).timestamp()
    )
    # The expired attestation (16.12.2022 + 3 years) is exported with its organization's
    # district; the one valid until 2029 is beyond the 90-day horizon: counted, not exported.
    expired = {
        "number": "АС-1", "object": "ГИС", "scope": "regional_system", "site": "",
        "district": "23-R01", "district_name": "Абинский район",
    }  # fmt: skip
    assert (
        registry.get_sample_value("kontur_attestation_expiry_timestamp_seconds", expired)
        == dt.datetime(2025, 12, 17, tzinfo=MSK).timestamp()
    )
    text = generate_latest(registry).decode()
    assert "АС-2" not in text
    counts = {
        (kind, state): registry.get_sample_value(
            "kontur_expiry_items", {"kind": kind, "state": state}
        )
        for kind in ("attestation", "vipnet_keys", "vipnet_certificate")
        for state in ("valid", "expiring_90", "expired")
    }
    assert counts == {
        ("attestation", "valid"): 1.0, ("attestation", "expiring_90"): 0.0,
        ("attestation", "expired"): 1.0,
        ("vipnet_keys", "valid"): 0.0, ("vipnet_keys", "expiring_90"): 2.0,
        ("vipnet_keys", "expired"): 0.0,
        ("vipnet_certificate", "valid"): 0.0, ("vipnet_certificate", "expiring_90"): 1.0,
        ("vipnet_certificate", "expired"): 0.0,
    }  # fmt: skip

    # The key set is renewed in the CMDB: scrapes keep the old date until a cycle finishes.
    load(engine, "vipnet-nodes", [{"vipnet_id": "0x07c40001", "keys_valid_until": "2029-01-10"}])
    assert keyset("0x07c40001") == end
    collector.listeners[-1].cycle_finished(_report(NOW))
    assert keyset("0x07c40001") is None  # now years away: beyond the horizon
    assert (
        registry.get_sample_value("kontur_expiry_items", {"kind": "vipnet_keys", "state": "valid"})
        == 1.0
    )


def test_the_regions_zone_decides_when_a_day_ends(engine: Engine) -> None:
    zone = "Asia/Yekaterinburg"
    make_world(engine)
    load(engine, "regions", [{"code": "23", "timezone": zone}])
    _unused, registry = _collector(engine)
    value = registry.get_sample_value(
        "kontur_vipnet_keyset_expiry_timestamp_seconds",
        {"vipnet_id": "0x07c40001", "name": "Координатор ЦОД", "kind": "coordinator",
         "site": "DC-PRIMARY", "district": "23-G01",
         "district_name": "городской округ Краснодар"},
    )  # fmt: skip
    assert value == dt.datetime(2027, 1, 11, tzinfo=ZoneInfo(zone)).timestamp()


def test_cycle_gauges_say_when_the_collector_started_and_last_cycled(engine: Engine) -> None:
    make_world(engine)
    before = time.time()
    collector, registry = _collector(engine)
    after = time.time()
    assert registry.get_sample_value("kontur_collector_interval_seconds") == 30.0
    started = registry.get_sample_value("kontur_collector_started_timestamp_seconds")
    assert started is not None
    assert before <= started <= after
    assert registry.get_sample_value("kontur_collector_last_cycle_timestamp_seconds") == 0.0
    for listener in collector.listeners:
        listener.cycle_finished(_report(NOW))
    assert registry.get_sample_value("kontur_collector_last_cycle_timestamp_seconds") == (
        NOW.timestamp() + 0.5
    )
