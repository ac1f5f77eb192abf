"""``kontur lab run`` (what ``make demo`` runs) starts a Prometheus on loopback and stops it.

The lab runs in a thread for a short ``--duration`` on a small demo region, its snmpsimd on a
free port; the test reads the printed Prometheus URL, asks that Prometheus (HTTP API) whether it
scrapes the lab's collector and loaded the real rules with the lab's capped thresholds, and
after the run checks that Prometheus is gone and said so. Skips without prometheus/snmpsimd.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import shutil
import subprocess
import tempfile
import threading
import urllib.error
import urllib.parse
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import Engine

from cmdb import demo
from cmdb.cli.context import CliContext
from cmdb.settings import CmdbSettings
from collectors.labrun import (
    RULES_DIR,
    THRESHOLDS_FILE,
    capped_thresholds,
    prometheus_binary,
    prometheus_config,
    run_lab,
)
from collectors.settings import CollectorSettings
from tests.collectors.snmp_peers import free_udp_port
from tests.dashboards.assets import binary
from tests.dashboards.promapi import http_json, wait_for

NEEDS_LAB = pytest.mark.skipif(
    prometheus_binary() is None or shutil.which("snmpsimd") is None,
    reason="prometheus and snmpsim are needed (apt-get install prometheus snmpsim snmp)",
)


@pytest.mark.backend_neutral
def test_capped_thresholds_keep_the_vipnet_rule_and_pass_promtool(tmp_path: Path) -> None:
    promtool = binary("promtool", "prometheus")
    document = capped_thresholds(RULES_DIR, 60)
    values = {
        (r["record"], tuple(sorted((r.get("labels") or {}).items()))): r["expr"]
        for g in document["groups"]
        for r in g["rules"]
    }
    assert values[("kontur:threshold:channel_down_seconds:default", ())] == "vector(60)"
    assert values[("kontur:threshold:site_down_seconds", (("site_kind", "dc_primary"),))] == (
        "vector(60)"
    )
    # The 6-minute ViPNet rule is the documents', not a tuning knob: left alone.
    assert values[("kontur:threshold:vipnet_node_offline_seconds:default", ())] == "vector(360)"
    assert values[("kontur:threshold:vipnet_node_offline_seconds", (("kind", "client"),))] == (
        "vector(0)"
    )
    path = tmp_path / THRESHOLDS_FILE
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    rules = [path] + [p for p in sorted(RULES_DIR.glob("*.yml")) if p.name != THRESHOLDS_FILE]
    config = prometheus_config(
        "127.0.0.1:9108", rules, scrape_interval_s=2.5, evaluation_interval_s=10
    )
    assert config["global"]["scrape_interval"] == "2500ms"
    assert config["global"]["evaluation_interval"] == "10s"
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "config", str(config_file)], capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@NEEDS_LAB
@pytest.mark.slow
def test_lab_run_starts_prometheus_on_loopback_and_stops_it(engine: Engine, db_url: str) -> None:
    demo.load(engine, scale=0.01, actor="tester", zone=ZoneInfo("Europe/Moscow"),
              today=dt.date(2026, 11, 23))  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="kontur-labprom-"))
    root.chmod(0o755)  # snmpsimd drops to 'nobody'
    out = io.StringIO()
    ctx = CliContext(CmdbSettings(database_url=db_url, actor="tester"), out=out, err=out)
    args = argparse.Namespace(
        directory=str(root / "lab"), interval=2.0, outage=30.0, round=60.0, sites=1, agents=0,
        duration=20.0, snmp_port=free_udp_port(), prometheus=True,
    )  # fmt: skip
    settings = CollectorSettings(interval_s=2)
    failure: list[BaseException] = []

    def lab() -> None:
        try:
            run_lab(engine, settings, args, ctx)
        except BaseException as exc:  # handed to the test thread
            failure.append(exc)

    thread = threading.Thread(target=lab, name="lab", daemon=True)
    thread.start()
    try:
        url = wait_for(
            "the lab printing its Prometheus URL",
            lambda: _prometheus_url(out.getvalue()) or (None if thread.is_alive() else "dead"),
            diagnose=out.getvalue,
        )
        assert url != "dead", out.getvalue() + repr(failure)
        assert url.startswith("http://127.0.0.1:")

        def scraped() -> list[dict[str, Any]] | None:
            query = urllib.parse.urlencode({"query": 'up{job="kontur-collector"} == 1'})
            return http_json(f"{url}/api/v1/query?{query}")["data"]["result"] or None

        wait_for("the lab's collector scraped", scraped, diagnose=out.getvalue)
        rules = http_json(f"{url}/api/v1/rules")["data"]["groups"]
        names = {g["name"] for g in rules}
        assert {"kontur-thresholds", "kontur-availability", "kontur-collector"} <= names
        capped = [
            r
            for g in rules
            for r in g["rules"]
            if r["name"] == "kontur:threshold:channel_down_seconds:default"
        ]
        assert [r["query"] for r in capped] == ["vector(60)"]
    finally:
        thread.join(120)
    assert not thread.is_alive()
    assert failure == []
    text = out.getvalue()
    assert "Prometheus остановлен" in text
    assert "лаборатория остановлена" in text
    with pytest.raises(urllib.error.URLError):
        http_json(f"{url}/-/ready")
    generated = yaml.safe_load((root / "prometheus" / "prometheus.yml").read_text("utf-8"))
    assert generated["scrape_configs"][0]["job_name"] == "kontur-collector"
    shutil.rmtree(root, ignore_errors=True)


def _prometheus_url(text: str) -> str | None:
    found = re.search(r"Prometheus: (http://[0-9.]+:\d+)", text)
    return found.group(1) if found else None
