"""A real Prometheus scraping a real collector that polls simulated routers (snmpsimd).

The tiny world's FAP router and DC devices are simulated by the demo lab's snmpsimd on
127.23.0.x; the collector (in-process, its own event loop in a thread) polls them every second
and serves ``/metrics``; ``/usr/bin/prometheus`` on a free loopback port scrapes it every second
and evaluates the real rule files, the thresholds capped at 2 s the way the demo lab caps them
(:func:`collectors.labrun.capped_thresholds`). The test cuts the FAP's primary channel with an
SNMP SET, as the lab does, and watches the Prometheus HTTP API until the alerts fire, then
restores it and watches them resolve. Deadlines are generous and only bound the wait; nothing
asserts how fast it went (the times are printed, ``-s`` shows them).

Skips with the reason when prometheus, snmpsimd or snmpset are missing. Everything started is
stopped by pid and its files removed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine

from collectors.lab import Lab, lab_inventory
from collectors.labrun import (
    RULES_DIR,
    THRESHOLDS_FILE,
    PrometheusServer,
    capped_thresholds,
    prometheus_binary,
    prometheus_config,
    start_prometheus,
)
from collectors.settings import CollectorSettings, Debounce
from tests.collectors.snmp_peers import free_udp_port
from tests.dashboards.assets import (
    METRIC_NAME,
    binary,
    dashboards,
    exporter_names,
    expressions,
    substitute,
)
from tests.dashboards.promapi import http_json, http_text, wait_for
from tests.factories import load, make_world

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        prometheus_binary() is None,
        reason="prometheus is not installed (apt-get install prometheus)",
    ),
    pytest.mark.skipif(
        shutil.which("snmpsimd") is None or shutil.which("snmpset") is None,
        reason="snmpsimd/snmpset are not installed (apt-get install snmpsim snmp)",
    ),
]

CAP_S = 2.0
MSK = ZoneInfo("Europe/Moscow")


class CollectorThread:
    """``running_collector`` with its cycle loop on an event loop of its own thread."""

    def __init__(self, engine: Engine, settings: CollectorSettings, credentials: Any) -> None:
        self.engine, self.settings, self.credentials = engine, settings, credentials
        self.url = ""
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="collector", daemon=True)

    def _run(self) -> None:
        from collectors.service import running_collector

        async def main() -> None:
            async with running_collector(
                self.engine, self.settings, credentials=self.credentials
            ) as running:
                self.url = running.url
                self.ready.set()
                while not self.stop.is_set():
                    begun = time.monotonic()
                    await running.collector.cycle()
                    await asyncio.sleep(
                        max(0.0, self.settings.interval_s - (time.monotonic() - begun))
                    )

        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the test thread
            self.error = exc
            self.ready.set()

    def __enter__(self) -> CollectorThread:
        self.thread.start()
        assert self.ready.wait(60), "collector did not start"
        if self.error is not None:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(60)
        assert not self.thread.is_alive(), "collector did not stop"


@dataclass
class Live:
    lab: Lab
    collector: CollectorThread
    prometheus: PrometheusServer

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = http_json(url)
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def alerts(self, name: str, state: str = "firing") -> list[dict[str, Any]]:
        body = http_json(f"{self.prometheus.url}/api/v1/alerts")
        return [
            a
            for a in body["data"]["alerts"]
            if a["labels"]["alertname"] == name and a["state"] == state
        ]

    def any_alert(self, name: str) -> list[dict[str, Any]]:
        return self.alerts(name, "firing") + self.alerts(name, "pending")

    def diagnose(self) -> str:
        """What the scrape target and the exporter say, for a failure message."""
        targets = http_json(f"{self.prometheus.url}/api/v1/targets")["data"]["activeTargets"]
        lines = [f"target {t['scrapeUrl']}: {t['health']} {t['lastError']}" for t in targets]
        metrics = http_text(f"{self.collector.url}/metrics")
        lines += [
            line
            for line in metrics.splitlines()
            if line.startswith(("kontur_channel", "kontur_device_up", "kontur_collector_poll"))
        ]
        return "\n".join(lines)


def _world(engine: Engine) -> None:
    """The tiny world, polled: the FAP router and the DC devices answer SNMP, the FAP's two
    channels end on the router's ether1 (primary) and lte1 (backup), and the DC coordinator's key
    set expires in 20 days (from today in Moscow: the expiry alert is real too)."""
    make_world(engine)
    load(engine, "devices", [
        {"name": "fap-0001-rtr", "snmp_profile": "lab"},
        {"name": "dc-hw1", "snmp_profile": "lab"},
    ])  # fmt: skip
    # Two files: the columns of one file apply to all its rows (a missing value is a blank).
    load(engine, "channels", [{"key": "CH-FAP-0001-1", "a_interface": "ether1"}])
    load(engine, "channels", [
        {"key": "CH-FAP-0001-2", "a_device": "fap-0001-rtr", "a_interface": "lte1"},
    ])  # fmt: skip
    soon = dt.datetime.now(MSK).date() + dt.timedelta(days=20)
    load(engine, "vipnet-nodes", [{"vipnet_id": "0x07c40001", "keys_valid_until": soon}])


@pytest.fixture
def live(engine: Engine) -> Iterator[Live]:
    from collectors.snmp.credentials import load_credentials

    _world(engine)
    devices, _channels = lab_inventory(engine)
    # snmpsimd drops to 'nobody': its files must not sit under pytest's private tmp folder.
    root = Path(tempfile.mkdtemp(prefix="kontur-live-"))
    root.chmod(0o755)
    lab = Lab(root / "lab", port=free_udp_port())
    try:
        (root / "lab").mkdir()
        lab.build(devices)
        lab.start(timeout_s=60)
        creds = root / "credentials.yml"
        creds.write_text(
            yaml.safe_dump(
                {"profiles": {p: {"version": "v2c", "community": lab.community}
                              for p in ("lab", "v3-dc")}}
            ),
            encoding="utf-8",
        )  # fmt: skip
        creds.chmod(0o600)
        base = CollectorSettings(vantage="dc-primary", interval_s=1, gap_intervals=100)
        settings = base.model_copy(
            update={
                "listen_port": 0,
                "debounce_channel": Debounce(down_after=1, up_after=1),
                "snmp": base.snmp.model_copy(
                    update={"credentials_file": creds, "port": lab.port, "timeout_s": 0.5}
                ),
                "icmp": base.icmp.model_copy(update={"enabled": False}),
            }
        )
        with CollectorThread(engine, settings, load_credentials(creds)) as collector:
            prom_dir = root / "prometheus"
            prom_dir.mkdir()
            thresholds = prom_dir / THRESHOLDS_FILE
            thresholds.write_text(yaml.safe_dump(capped_thresholds(RULES_DIR, CAP_S)), "utf-8")
            rules = [thresholds] + [
                p for p in sorted(RULES_DIR.glob("*.yml")) if p.name != THRESHOLDS_FILE
            ]
            config = prometheus_config(
                collector.url.removeprefix("http://"),
                rules,
                scrape_interval_s=1,
                evaluation_interval_s=1,
            )
            started = time.monotonic()
            prometheus = start_prometheus(prom_dir, config)
            print(f"\nprometheus ready in {time.monotonic() - started:.1f} s")  # noqa: T201
            try:
                yield Live(lab, collector, prometheus)
            finally:
                prometheus.stop()
                assert prometheus.process.poll() is not None
    finally:
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_series_exist_and_a_cut_channel_fires_its_alerts_then_resolves(live: Live) -> None:
    channel = '{channel="CH-FAP-0001-1"}'

    def primary_up() -> list[dict[str, Any]] | None:
        found = live.query(f"kontur_channel_up{channel} == 1")
        return found or None

    (up_sample,) = wait_for("the primary channel scraped as up", primary_up, diagnose=live.diagnose)
    assert up_sample["metric"]["job"] == "kontur-collector"
    (target,) = live.query('up{job="kontur-collector"}')
    assert target["value"][1] == "1"
    (site,) = live.query('kontur_site_info{site="FAP-0001"}')
    assert site["metric"]["district_name"] == "Абинский район"
    assert live.query(f"kontur_channel_state_since_timestamp_seconds{channel}")
    (threshold,) = wait_for(
        "the capped FAP threshold recorded",
        lambda: (
            live.query('kontur:threshold:channel_down_seconds:by_site_kind{site_kind="fap"}')
            or None
        ),
    )
    assert float(threshold["value"][1]) == CAP_S
    # The key set expiring in 20 days: a real warning from a real exporter date.
    (keyset,) = wait_for(
        "the key set expiry alert", lambda: live.alerts("KonturVipnetKeysetExpiring") or None
    )
    assert keyset["labels"]["severity"] == "warning"
    assert keyset["labels"]["vipnet_id"] == "0x07c40001"
    assert "20 дн." in keyset["annotations"]["summary"]
    # Up and healthy: nothing about the channel, pending or firing.
    assert live.any_alert("KonturChannelDown") == []
    assert live.any_alert("KonturSiteOnBackup") == []

    cut_at = time.monotonic()
    live.lab.set_interface("fap-0001-rtr", "ether1", up=False)
    (alert,) = wait_for(
        "KonturChannelDown firing", lambda: live.alerts("KonturChannelDown") or None
    )
    fired_s = time.monotonic() - cut_at
    labels = alert["labels"]
    assert (labels["channel"], labels["severity"], labels["vantage"]) == (
        "CH-FAP-0001-1", "warning", "dc-primary"
    )  # fmt: skip
    assert (labels["site"], labels["site_kind"], labels["district"]) == (
        "FAP-0001",
        "fap",
        "23-R01",
    )
    assert labels["district_name"] == "Абинский район"
    assert alert["annotations"]["summary"].startswith(
        "Канал CH-FAP-0001-1 (ФАП хутор Первый, Абинский район) недоступен"
    )
    (backup,) = wait_for(
        "KonturSiteOnBackup firing", lambda: live.alerts("KonturSiteOnBackup") or None
    )
    assert backup["labels"]["active_channel"] == "CH-FAP-0001-2"
    assert live.any_alert("KonturSiteDown") == []  # the backup carries: the site is not cut off

    restored_at = time.monotonic()
    live.lab.set_interface("fap-0001-rtr", "ether1", up=True)
    wait_for(
        "KonturChannelDown resolved",
        lambda: True if not live.any_alert("KonturChannelDown") else None,
    )
    resolved_s = time.monotonic() - restored_at
    wait_for(
        "KonturSiteOnBackup resolved",
        lambda: True if not live.any_alert("KonturSiteOnBackup") else None,
    )
    print(  # noqa: T201 - the figure, shown with -s
        f"\ncut → KonturChannelDown firing: {fired_s:.1f} s (threshold {CAP_S:g} s, scrape and "
        f"evaluation 1 s); restore → resolved: {resolved_s:.1f} s"
    )


def test_dashboards_match_the_live_exporter_and_their_queries_run(live: Live) -> None:
    """Every kontur_* name a dashboard uses is in the live /metrics; every panel and variable
    query, variables substituted, is accepted and run by the live Prometheus; the exposition
    passes ``promtool check metrics``."""
    wait_for(
        "a first scrape",
        lambda: live.query('up{job="kontur-collector"} == 1') or None,
    )
    metrics = http_text(f"{live.collector.url}/metrics")
    names = exporter_names(metrics)
    used = {
        (board["uid"], title, name)
        for board in dashboards()
        for title, expr in expressions(board)
        for name in METRIC_NAME.findall(expr)
    }
    missing = sorted(u for u in used if u[2] not in names)
    assert missing == []
    assert len({u[2] for u in used}) >= 15

    promtool = binary("promtool", "prometheus")
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=metrics, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr

    values = {
        "datasource": "kontur",
        "vantage": "dc-primary",
        "district": ".*",
        "instance": ".*",
        "__range": "5m",
        "__rate_interval": "1m",
        "__interval": "1s",
    }
    queried = 0
    for board in dashboards():
        for title, expr in expressions(board):
            query = substitute(expr, values)
            assert "$" not in query, (board["uid"], title, query)
            live.query(query)  # raises unless Prometheus accepts and runs it
            queried += 1
    assert queried >= 40
    # A few panels the user looks at first answer with data already.
    assert live.query('kontur_site_info{vantage="dc-primary"}')
    assert live.query("kontur_collector_interval_seconds")
