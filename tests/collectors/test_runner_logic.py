"""How poll results become observations: channels, devices, ViPNet nodes, sites (pure logic)."""

from __future__ import annotations

import datetime as dt

from cmdb.choices import State
from collectors.runner import (
    DeviceResult,
    ProbeResult,
    channel_state,
    derive_observations,
)
from collectors.settings import CollectorSettings
from collectors.targets import ChannelTarget, DeviceTarget, Heartbeat, NodeTarget, Targets

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
CH = ChannelTarget("CH-1", "FAP-1", "DC-PRIMARY", "primary", "G", "fap-rtr", "ge0/0", "127.0.0.2")


def test_channel_state_prefers_a_down_interface_then_icmp_then_snmp() -> None:
    up_dev = DeviceResult("fap-rtr", True, {"ge0/0": True})
    down_if = DeviceResult("fap-rtr", True, {"ge0/0": False})
    ok, lossy, dead = (
        ProbeResult("127.0.0.2", 0.0, 1.2),
        ProbeResult("127.0.0.2", 40.0, 9.0),
        ProbeResult("127.0.0.2", 100.0),
    )
    assert channel_state(CH, down_if, ok, 20.0) is State.DOWN
    assert channel_state(CH, up_dev, dead, 20.0) is State.DOWN
    assert channel_state(CH, up_dev, lossy, 20.0) is State.DEGRADED
    assert channel_state(CH, up_dev, ok, 20.0) is State.UP
    assert channel_state(CH, up_dev, None, 20.0) is State.UP
    # The router does not answer and there is no probe: no data, not an outage.
    assert channel_state(CH, DeviceResult("fap-rtr", False), None, 20.0) is None


def test_vipnet_client_offline_after_six_minutes_without_heartbeat() -> None:
    settings = CollectorSettings()
    targets = Targets(
        devices=(DeviceTarget("dc-hw1", "DC", "127.0.0.1", "vipnet_coordinator_hw", "p", ()),),
        channels=(),
        nodes=(
            NodeTarget("0x07c40001", "coordinator", "dc-hw1", None),
            NodeTarget("0x07c40002", "client", None, "arm-1"),
            NodeTarget("0x07c40003", "client", None, "arm-2"),
            NodeTarget("0x07c40004", "client", None, "arm-3"),
        ),
        sites=(),
        heartbeats=(
            Heartbeat("workstation", "arm-1", (NOW - dt.timedelta(minutes=5)).timestamp(), True),
            Heartbeat("workstation", "arm-2", (NOW - dt.timedelta(minutes=7)).timestamp(), True),
            Heartbeat("workstation", "arm-3", (NOW - dt.timedelta(minutes=1)).timestamp(), False),
        ),
    )
    obs = derive_observations(targets, {"dc-hw1": DeviceResult("dc-hw1", True)}, {}, NOW, settings)
    states = {(o.kind, o.key): o.state for o in obs}
    assert states[("vipnet_node", "0x07c40001")] is State.UP
    assert states[("vipnet_node", "0x07c40002")] is State.UP  # 5 minutes: still online
    assert states[("vipnet_node", "0x07c40003")] is State.DOWN  # 7 minutes: offline
    assert states[("vipnet_node", "0x07c40004")] is State.DOWN  # agent says the service is off
    assert states[("workstation", "arm-2")] is State.DOWN
    assert states[("device", "dc-hw1")] is State.UP
