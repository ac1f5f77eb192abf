"""Failover for real: a FAP in a network namespace with a primary and a backup link.

The FAP is a network namespace with two veth links to the host (the "DC"): primary
169.254.78.1/30 ↔ 169.254.78.2/30 and backup 169.254.78.5/30 ↔ 169.254.78.6/30, and a real
snmpd inside answering on both. The collector polls it through the real SNMP client and pinger.
Cutting the primary with ``ip link set ... down`` must show in the ledger as the primary channel
down and the site on backup; bringing it up must record the return. Needs root and iproute2;
skips with the reason otherwise. Everything it creates is removed, processes killed by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmdb.choices import State
from cmdb.models import FailoverEvent
from tests.factories import load, make_world

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("snmpd") is None,
    reason="needs root, iproute2 and snmpd (network namespaces and a real agent)",
)


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


@dataclass
class Fap:
    namespace: str
    host_primary: str
    host_backup: str
    community: str


@pytest.fixture
def fap(tmp_path: Path) -> Iterator[Fap]:
    tag = secrets.token_hex(2)
    ns, hp, hb = f"kt-fap-{tag}", f"ktp{tag}", f"ktb{tag}"
    community = "lab-" + secrets.token_hex(4)
    pid_file = tmp_path / "snmpd.pid"
    snmpd: subprocess.Popen[bytes] | None = None
    try:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        for host_if, ns_if, host_ip, ns_ip in (
            (hp, "eth-p", "169.254.78.1/30", "169.254.78.2/30"),
            (hb, "eth-b", "169.254.78.5/30", "169.254.78.6/30"),
        ):
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", ns)
            sh("ip", "addr", "add", host_ip, "dev", host_if)
            sh("ip", "link", "set", host_if, "up")
            sh("ip", "-n", ns, "addr", "add", ns_ip, "dev", ns_if)
            sh("ip", "-n", ns, "link", "set", ns_if, "up")
        conf = tmp_path / "snmpd.conf"
        conf.write_text(
            "agentAddress udp:169.254.78.2:161,udp:169.254.78.6:161\n"
            f"rocommunity {community} 169.254.78.0/29\n",
            encoding="ascii",
        )
        snmpd = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "snmpd",
                "-f",
                "-Lo",
                "-C",
                "-c",
                str(conf),
                "-p",
                str(pid_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [
                    "snmpget",
                    "-v2c",
                    "-c",
                    community,
                    "-t",
                    "0.5",
                    "-r",
                    "0",
                    "169.254.78.6",
                    "1.3.6.1.2.1.1.3.0",
                ],
                capture_output=True,
                check=False,
                timeout=10,
            )
            if probe.returncode == 0:
                break
            time.sleep(0.2)
        else:
            pytest.fail("snmpd in the namespace did not answer")
        yield Fap(ns, hp, hb, community)
    finally:
        if snmpd is not None:
            if pid_file.exists():
                with_pid = int(pid_file.read_text().strip() or 0)
                if with_pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(with_pid, signal.SIGTERM)
            snmpd.terminate()
            snmpd.wait(timeout=10)
        for host_if in (hp, hb):
            subprocess.run(["ip", "link", "del", host_if], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def test_primary_cut_puts_the_site_on_backup_and_back(
    fap: Fap, engine: Engine, tmp_path: Path
) -> None:
    from collectors.service import running_collector
    from collectors.settings import CollectorSettings, Debounce
    from collectors.snmp.credentials import load_credentials

    make_world(engine, upto="vipnet-nodes")
    load(engine, "sites", [{"code": "FAP-NS", "name": "ФАП в пространстве имён", "kind": "fap"}])
    load(engine, "devices", [
        {"name": "fap-ns-rtr", "site": "FAP-NS", "role": "router", "platform": "linux",
         "mgmt_address": "169.254.78.6", "snmp_profile": "fap-lab"},
    ])  # fmt: skip
    load(engine, "channels", [
        {"key": "CH-NS-1", "medium": "copper", "a_site": "FAP-NS", "a_device": "fap-ns-rtr",
         "a_interface": "eth-p", "a_address": "169.254.78.2", "z_site": "DC-PRIMARY",
         "role": "primary", "redundancy_group": "FAP-NS-WAN"},
        {"key": "CH-NS-2", "medium": "lte", "a_site": "FAP-NS", "a_device": "fap-ns-rtr",
         "a_interface": "eth-b", "a_address": "169.254.78.6", "z_site": "DC-PRIMARY",
         "role": "backup", "redundancy_group": "FAP-NS-WAN"},
    ])  # fmt: skip
    creds = tmp_path / "credentials.yml"
    creds.write_text(
        yaml.safe_dump(
            {
                "profiles": {
                    "fap-lab": {"version": "v2c", "community": fap.community},
                    "v3-dc": {"version": "v2c", "community": fap.community},
                }
            }
        ),
        encoding="utf-8",
    )
    creds.chmod(0o600)
    base = CollectorSettings(vantage="dc-primary", interval_s=1, gap_intervals=100)
    settings = base.model_copy(
        update={
            "debounce_channel": Debounce(down_after=2, up_after=2),
            "snmp": base.snmp.model_copy(update={"credentials_file": creds, "timeout_s": 0.5}),
            "icmp": base.icmp.model_copy(
                update={"packets": 3, "interval_s": 0.05, "timeout_s": 0.5}
            ),
        }
    )

    async def scenario() -> None:
        async with running_collector(
            engine, settings, credentials=load_credentials(creds), listen=False
        ) as running:
            ledger = running.collector.ledger
            for _ in range(2):
                await running.collector.cycle()
            assert ledger.state_of("channel", "CH-NS-1") is State.UP
            assert ledger.state_of("channel", "CH-NS-2") is State.UP
            assert ledger.state_of("site", "FAP-NS") is State.UP

            sh("ip", "link", "set", fap.host_primary, "down")  # the primary is cut for real
            for _ in range(3):
                await running.collector.cycle()
            assert ledger.state_of("channel", "CH-NS-1") is State.DOWN
            assert ledger.state_of("channel", "CH-NS-2") is State.UP
            assert ledger.state_of("site", "FAP-NS") is State.DEGRADED
            assert ledger.on_backup()[("FAP-NS", "FAP-NS-WAN")].on_backup
            scrape = running.registry.get_sample_value(
                "kontur_channel_on_backup",
                {"site": "FAP-NS", "redundancy_group": "FAP-NS-WAN",
                 "active_channel": "CH-NS-2", "vantage": "dc-primary"},
            )  # fmt: skip
            assert scrape == 1.0

            sh("ip", "link", "set", fap.host_primary, "up")
            # A veth link that comes back needs a moment (carrier, neighbour discovery) before
            # it answers again: poll until the debounce lets it up, within a generous deadline.
            deadline = time.monotonic() + 30
            while ledger.state_of("channel", "CH-NS-1") is not State.UP:
                assert time.monotonic() < deadline, "the primary never came back up"
                await running.collector.cycle()
            assert ledger.state_of("channel", "CH-NS-1") is State.UP
            assert ledger.state_of("site", "FAP-NS") is State.UP

    asyncio.run(scenario())
    with Session(engine) as session:
        events = [
            (e.kind, e.active_channel)
            for e in session.scalars(
                select(FailoverEvent)
                .where(FailoverEvent.site_key == "FAP-NS")
                .order_by(FailoverEvent.id)
            )
        ]
    assert events == [("on_backup", "CH-NS-2"), ("on_primary", "CH-NS-1")]
