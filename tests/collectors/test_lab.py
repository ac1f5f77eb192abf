"""The demo lab: snmpsimd answers as each demo device at its own loopback address."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from cmdb import demo
from collectors.lab import FailurePlan, Lab, if_index, lab_inventory

pytestmark = pytest.mark.skipif(
    shutil.which("snmpsimd") is None or shutil.which("snmpget") is None,
    reason="Debian packages snmpsim and snmp are not installed (make test installs them as root)",
)


def snmpget(host: str, port: int, community: str, oid: str) -> str:
    result = subprocess.run(
        ["snmpget", "-v2c", "-c", community, "-t", "2", "-r", "1", "-Oqv", f"{host}:{port}", oid],
        capture_output=True, text=True, check=False, timeout=20,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().strip('"')


@pytest.fixture
def lab(engine: Engine) -> Iterator[Lab]:
    demo.load(engine, scale=0.02, actor="tester", zone=ZoneInfo("Europe/Moscow"),
              today=dt.date(2026, 11, 23))  # fmt: skip
    devices, _channels = lab_inventory(engine)
    # snmpsimd drops to 'nobody': its files must not sit under pytest's private tmp folder.
    directory = Path(tempfile.mkdtemp(prefix="kontur-lab-"))
    directory.chmod(0o755)
    lab = Lab(directory, port=16199)
    lab.build(devices)
    lab.start(timeout_s=60)
    try:
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_each_device_answers_at_its_own_address_and_interfaces_flip(
    lab: Lab, engine: Engine
) -> None:
    devices, channels = lab_inventory(engine)
    assert len(devices) > 10
    for device in (devices[0], devices[len(devices) // 2], devices[-1]):
        assert snmpget(device.host, lab.port, lab.community, "1.3.6.1.2.1.1.5.0") == device.name
    plan = FailurePlan(channels, sites_per_round=1, outage_s=10, round_s=20, started=0.0)
    (victim,) = plan.candidates()[:1]
    number, dev = next((i, d) for i, d in enumerate(devices) if d.name == victim.device)
    position = [*dev.interfaces, "lo"].index(victim.interface)
    oid = f"1.3.6.1.2.1.2.2.1.8.{if_index(number, position)}"
    # Another device's first interface stays up: each device's state is its own.
    other_no, other = next(
        (i, d) for i, d in enumerate(devices) if d.name != dev.name and d.interfaces
    )
    other_oid = f"1.3.6.1.2.1.2.2.1.8.{if_index(other_no, 0)}"
    assert snmpget(dev.host, lab.port, lab.community, oid) == "1"
    cut, restored = plan.apply(lab, now=1.0)
    assert [c.key for c in cut] == [victim.key]
    assert restored == []
    assert snmpget(dev.host, lab.port, lab.community, oid) == "2"
    assert snmpget(other.host, lab.port, lab.community, other_oid) == "1"
    cut, restored = plan.apply(lab, now=15.0)  # the outage of round 0 is over
    assert (cut, [c.key for c in restored]) == ([], [victim.key])
    assert snmpget(dev.host, lab.port, lab.community, oid) == "1"


def test_lab_refuses_non_loopback_addresses(engine: Engine) -> None:
    from cmdb.importer import import_records
    from collectors.lab import LabError
    from tests.factories import make_world

    make_world(engine)
    import_records(
        engine, "devices",
        [{"name": "dc-rtr1", "site": "DC-PRIMARY", "role": "router", "platform": "eltex_esr",
          "mgmt_address": "169.254.10.1", "snmp_profile": "v3-dc"}],
        source="test", actor="tester", zone=ZoneInfo("Europe/Moscow"),
    )  # fmt: skip
    with pytest.raises(LabError, match=r"169\.254\.10\.1"):
        lab_inventory(engine)
