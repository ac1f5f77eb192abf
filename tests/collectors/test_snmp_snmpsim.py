"""Many distinct simulated devices (snmpsimd, one agent per community on one port): the fast path
polls them all concurrently and each answer lands on its own device; plans for old switches and
UPSes work on real agent behaviour."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from collectors.snmp.client import ClientStats, FastSnmpClient
from collectors.snmp.credentials import CredentialStore, V2cCredential
from collectors.snmp.poller import DevicePoll, DeviceRef, SnmpPoller
from collectors.snmp.profiles import load_profiles
from collectors.snmp.types import Gauge32, Integer, OctetString, SnmpResult, SnmpTarget, TimeTicks
from tests.collectors.snmp_peers import (
    FLEET_SIZE,
    SYS_NAME,
    SYS_UPTIME,
    SnmpsimPeer,
    run,
    settings,
    snmpsim_fleet_fixture,  # noqa: F401 - the fixture 'snmpsim_fleet'
)


def fleet_credentials(peer: SnmpsimPeer) -> CredentialStore:
    return CredentialStore({c: V2cCredential(c, SecretStr(c)) for c in peer.communities})


def test_fast_path_polls_many_devices_concurrently_each_gets_its_own_name(
    snmpsim_fleet: SnmpsimPeer,
) -> None:
    names = [f"fap-{i:03d}" for i in range(FLEET_SIZE)]

    async def body() -> tuple[list[SnmpResult], ClientStats]:
        # all simulated devices share one host:port, so let one "target" carry them all at once
        config = settings(timeout_s=2.0, retries=1, max_in_flight=64, max_in_flight_per_target=16)
        async with FastSnmpClient(config, fleet_credentials(snmpsim_fleet)) as client:
            results = await asyncio.gather(
                *(
                    client.get(
                        SnmpTarget(snmpsim_fleet.host, snmpsim_fleet.port, n),
                        (SYS_UPTIME, SYS_NAME),
                    )
                    for n in names
                )
            )
            return list(results), client.stats

    results, stats = run(body)

    assert [r.error for r in results] == [None] * FLEET_SIZE
    assert [r.values[SYS_NAME] for r in results] == [OctetString(n.encode()) for n in names]
    assert [r.values[SYS_UPTIME] for r in results] == [
        TimeTicks(100_000 + i) for i in range(FLEET_SIZE)
    ]
    assert stats.peak_in_flight == 16  # really concurrent, and never past the per-target bound
    assert stats.responses == FLEET_SIZE


def poll(peer: SnmpsimPeer, device: DeviceRef, interfaces: list[str]) -> tuple[DevicePoll, int]:
    async def body() -> tuple[DevicePoll, int]:
        credentials = fleet_credentials(peer)
        async with FastSnmpClient(settings(timeout_s=2.0), credentials) as client:
            poller = SnmpPoller(client, load_profiles(), credentials)
            first = await poller.poll(device, interfaces)
            before = client.stats.requests
            await poller.poll(device, interfaces)
            return first, client.stats.requests - before

    return run(body)


def test_old_switch_maps_names_by_ifdescr_and_falls_back_to_32_bit_counters(
    snmpsim_fleet: SnmpsimPeer,
) -> None:
    device = DeviceRef(
        name="old-switch",
        host=snmpsim_fleet.host,
        port=snmpsim_fleet.port,
        platform="generic_snmp",
        credential="old-switch",
    )

    result, second_poll_gets = poll(snmpsim_fleet, device, ["Port 1", "Port 2", "Port 9"])

    assert result.reachable
    assert result.error is None
    assert result.sys_uptime_s == 42.42
    port1, port2 = result.interfaces["Port 1"], result.interfaces["Port 2"]
    assert (port1.if_index, port1.oper_up, port1.in_octets, port1.out_octets) == (
        1,
        True,
        1000,
        2000,
    )
    assert port1.counter_bits == 32
    assert (port2.if_index, port2.oper_up, port2.in_octets) == (2, False, 0)
    assert result.unknown_interfaces == ("Port 9",)
    # the second poll remembers there are no 64-bit counters: a single GET, no retry with ifIn*
    assert second_poll_gets == 1


def test_ups_plan_returns_its_extra_values(snmpsim_fleet: SnmpsimPeer) -> None:
    device = DeviceRef(
        name="ups-1",
        host=snmpsim_fleet.host,
        port=snmpsim_fleet.port,
        platform="apc_ups",
        credential="ups-1",
    )

    result, _ = poll(snmpsim_fleet, device, [])

    assert result.reachable
    assert result.error is None
    assert result.extra == {
        "output_status": Integer(2),
        "battery_capacity_pct": Gauge32(97),
        "battery_runtime_ticks": TimeTicks(360000),
        "battery_temperature_c": Gauge32(31),
        "input_voltage": Gauge32(228),
    }
    assert result.cpu_pct is None
    assert result.mem_used_pct is None


def test_a_device_without_if_mib_is_not_walked_on_every_poll(snmpsim_fleet: SnmpsimPeer) -> None:
    device = DeviceRef(
        name="ups-1",
        host=snmpsim_fleet.host,
        port=snmpsim_fleet.port,
        platform="apc_ups",
        credential="ups-1",
    )

    async def body() -> tuple[list[DevicePoll], list[int]]:
        credentials = fleet_credentials(snmpsim_fleet)
        async with FastSnmpClient(settings(timeout_s=2.0), credentials) as client:
            poller = SnmpPoller(client, load_profiles(), credentials)
            polls, walks = [], []
            for _ in range(3):
                polls.append(await poller.poll(device, ["eth0"]))
                walks.append(poller.discovery_walks)
            return polls, walks

    polls, walks = run(body)

    assert [p.unknown_interfaces for p in polls] == [("eth0",)] * 3
    assert all(p.reachable and p.error is None for p in polls)
    assert walks == [2, 2, 2]  # ifName, then ifDescr, once; the empty answer is remembered
