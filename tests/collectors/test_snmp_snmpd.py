"""FastSnmpClient and SnmpPoller against a real net-snmp agent on loopback: v2c on the fast path,
v3 authPriv through pysnmp, wrong credentials, missing OIDs, interface names to ifIndex."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from collectors.snmp.client import FastSnmpClient
from collectors.snmp.credentials import V2cCredential, V3Credential
from collectors.snmp.errors import SnmpAuthError, SnmpConfigError, SnmpTimeout
from collectors.snmp.poller import DevicePoll, DeviceRef, SnmpPoller
from collectors.snmp.profiles import load_profiles
from collectors.snmp.pysnmp_adapter import PysnmpAdapter
from collectors.snmp.types import (
    Counter64,
    Integer,
    NoSuchInstance,
    NoSuchObject,
    OctetString,
    SnmpResult,
    SnmpTarget,
    TimeTicks,
)
from tests.collectors.snmp_peers import (
    IF_NAME,
    IF_OPER_STATUS,
    SYS_NAME,
    SYS_UPTIME,
    SnmpdPeer,
    run,
    settings,
    snmpd_fixture,  # noqa: F401 - the fixture 'snmpd'
)


def lo_index(result: SnmpResult) -> int:
    """The ifIndex of 'lo' in a walk of ifName."""
    matches = [oid for oid, v in result.values.items() if v == OctetString(b"lo")]
    assert len(matches) == 1, result.values
    return int(matches[0].rsplit(".", 1)[1])


def test_v2c_get_on_the_fast_path(snmpd: SnmpdPeer) -> None:
    async def body() -> tuple[SnmpResult, SnmpResult, int]:
        async with FastSnmpClient(
            settings(), snmpd.credentials(), local_host="127.0.0.1"
        ) as client:
            target = SnmpTarget(snmpd.host, snmpd.port, "v2c")
            walk = await client.walk(target, IF_NAME)
            result = await client.get(
                target, [SYS_UPTIME, SYS_NAME, f"{IF_OPER_STATUS}.{lo_index(walk)}"]
            )
            return walk, result, client.stats.responses

    walk, result, fast_responses = run(body)

    assert result.error is None
    uptime = result.values[SYS_UPTIME]
    assert isinstance(uptime, TimeTicks)
    assert uptime.value > 0
    assert result.values[SYS_NAME] == OctetString(snmpd.sys_name.encode())
    assert list(result.values)[2].startswith(IF_OPER_STATUS)
    assert list(result.values.values())[2] == Integer(1)  # lo is up
    assert result.rtt_s is not None
    assert 0 < result.rtt_s < 1
    assert fast_responses == 2  # one GETBULK for the walk, one GET: both on the fast path
    assert walk.error is None


IF_TABLE = "1.3.6.1.2.1.2.2"


def test_v2c_fast_walk_matches_pysnmp_walk_over_many_pages(snmpd: SnmpdPeer) -> None:
    """The ifTable (22 columns per interface) needs several GETBULK pages; the fast walk must
    return exactly what pysnmp's walk of the same agent returns."""

    async def body() -> tuple[SnmpResult, SnmpResult, SnmpResult, int]:
        credentials = snmpd.credentials()
        async with FastSnmpClient(settings(), credentials) as client:
            target = SnmpTarget(snmpd.host, snmpd.port, "v2c")
            fast = await client.walk(target, IF_TABLE)
            pages = client.stats.responses
            limited = await client.walk(target, IF_TABLE, max_rows=30)
        adapter = PysnmpAdapter(timeout_s=1.0, retries=1)
        try:
            reference = await adapter.walk(target, credentials["v2c"], IF_TABLE, max_rows=10_000)
        finally:
            adapter.close()
        return fast, reference, limited, pages

    fast, reference, limited, pages = run(body)

    assert fast.error is None
    assert reference.error is None
    assert len(fast.values) > 50
    assert pages >= 3
    assert fast.values == reference.values
    assert list(fast.values) == list(reference.values)  # agent order kept
    assert list(limited.values) == list(fast.values)[:30]


def test_v3_authpriv_get_and_walk_through_pysnmp(snmpd: SnmpdPeer) -> None:
    async def body() -> tuple[SnmpResult, SnmpResult, int]:
        async with FastSnmpClient(
            settings(), snmpd.credentials(), local_host="127.0.0.1"
        ) as client:
            target = SnmpTarget(snmpd.host, snmpd.port, "v3")
            got = await client.get(target, [SYS_NAME, SYS_UPTIME])
            walked = await client.walk(target, IF_NAME)
            return got, walked, client.stats.requests

    got, walked, fast_requests = run(body)

    assert got.error is None
    assert got.values[SYS_NAME] == OctetString(snmpd.sys_name.encode())
    assert isinstance(got.values[SYS_UPTIME], TimeTicks)
    assert fast_requests == 0  # v3 never takes the v2c fast path
    assert walked.error is None
    assert OctetString(b"lo") in walked.values.values()
    assert all(oid.startswith(IF_NAME + ".") for oid in walked.values)


@pytest.mark.parametrize("profile", ["v3-sha256-aes256", "v3-sha512-aes"])
def test_v3_sha2_and_aes256_profiles_interoperate_with_net_snmp(
    snmpd: SnmpdPeer, profile: str
) -> None:
    """Our protocol names map to what net-snmp's SHA-256/SHA-512 and AES-256 users expect."""

    async def body() -> SnmpResult:
        async with FastSnmpClient(settings(), snmpd.credentials()) as client:
            return await client.get(SnmpTarget(snmpd.host, snmpd.port, profile), [SYS_NAME])

    result = run(body)

    assert result.error is None
    assert result.values == {SYS_NAME: OctetString(snmpd.sys_name.encode())}


def test_wrong_community_times_out_after_the_retries(snmpd: SnmpdPeer) -> None:
    """snmpd drops a request with an unknown community silently: the client can only time out."""
    wrong = V2cCredential("wrong", SecretStr("not-the-community"))

    async def body() -> tuple[SnmpResult, int, int]:
        async with FastSnmpClient(
            settings(timeout_s=0.2, retries=2), snmpd.credentials(wrong=wrong)
        ) as client:
            result = await client.get(SnmpTarget(snmpd.host, snmpd.port, "wrong"), [SYS_UPTIME])
            return result, client.stats.retransmits, client.stats.timeouts

    result, retransmits, timeouts = run(body)

    assert isinstance(result.error, SnmpTimeout)
    assert result.error.attempts == 3
    assert "timeout, no response after 3 attempt(s) of 0.2 s" in str(result.error)
    assert "not-the-community" not in str(result.error)
    assert (retransmits, timeouts) == (2, 1)
    assert result.values == {}


def test_wrong_v3_auth_key_is_an_auth_error(snmpd: SnmpdPeer) -> None:
    """A wrong auth key: snmpd answers the reportable request with a usmStatsWrongDigests Report,
    so the failure is known at once (SnmpAuthError), not guessed from silence."""
    bad = V3Credential(
        "bad",
        snmpd.v3_user,
        "sha",
        SecretStr("wrong-auth-key"),
        "aes",
        SecretStr(snmpd.v3_priv_key),
    )

    async def body() -> SnmpResult:
        async with FastSnmpClient(settings(), snmpd.credentials(bad=bad)) as client:
            return await client.get(SnmpTarget(snmpd.host, snmpd.port, "bad"), [SYS_UPTIME])

    result = run(body)

    assert isinstance(result.error, SnmpAuthError)
    assert "wrong-auth-key" not in str(result.error)


def test_wrong_v3_priv_key_times_out(snmpd: SnmpdPeer) -> None:
    """A right auth key with a wrong priv key: the message authenticates but its scopedPDU does not
    decrypt; net-snmp drops it without a Report ("error parsing ScopedPDU"), so it is a timeout."""
    bad = V3Credential(
        "bad",
        snmpd.v3_user,
        "sha",
        SecretStr(snmpd.v3_auth_key),
        "aes",
        SecretStr("wrong-priv-key"),
    )

    async def body() -> SnmpResult:
        async with FastSnmpClient(
            settings(timeout_s=0.3, retries=0), snmpd.credentials(bad=bad)
        ) as client:
            return await client.get(SnmpTarget(snmpd.host, snmpd.port, "bad"), [SYS_UPTIME])

    result = run(body)

    assert isinstance(result.error, SnmpTimeout)


def test_missing_oids_come_back_as_exception_values(snmpd: SnmpdPeer) -> None:
    async def body() -> tuple[SnmpResult, SnmpResult]:
        async with FastSnmpClient(settings(), snmpd.credentials()) as client:
            oids = ["1.3.6.1.2.1.1.99.0", f"{SYS_UPTIME[:-2]}.1"]
            fast = await client.get(SnmpTarget(snmpd.host, snmpd.port, "v2c"), oids)
            slow = await client.get(SnmpTarget(snmpd.host, snmpd.port, "v3"), oids)
            return fast, slow

    fast, slow = run(body)

    for result in (fast, slow):
        assert result.error is None
        assert result.values == {
            "1.3.6.1.2.1.1.99.0": NoSuchObject(),
            "1.3.6.1.2.1.1.3.1": NoSuchInstance(),
        }


def poll_twice(snmpd: SnmpdPeer, credential: str) -> tuple[DevicePoll, DevicePoll, int]:
    async def body() -> tuple[DevicePoll, DevicePoll, int]:
        credentials = snmpd.credentials()
        async with FastSnmpClient(settings(), credentials) as client:
            poller = SnmpPoller(client, load_profiles(), credentials)
            device = DeviceRef(
                name="srv-1",
                host=snmpd.host,
                port=snmpd.port,
                platform="linux",
                credential=credential,
            )
            first = await poller.poll(device, ["lo", "no-such-if0"])
            walks = poller.discovery_walks
            second = await poller.poll(device, ["lo", "no-such-if0"])
            assert poller.discovery_walks == walks  # the ifIndex map came from the cache
            return first, second, walks

    return run(body)


def check_linux_poll(first: DevicePoll, second: DevicePoll) -> None:
    assert first.reachable
    assert first.error is None
    assert first.error_kind is None
    assert first.device == "srv-1"
    assert first.sys_uptime_s is not None
    assert first.sys_uptime_s > 0
    lo = first.interfaces["lo"]
    assert lo.if_index == int(Path("/sys/class/net/lo/ifindex").read_text())  # the kernel's own
    assert lo.oper_up is True
    assert lo.counter_bits == 64
    assert lo.in_octets is not None
    assert lo.out_octets is not None
    # the agent reads the kernel's counters (through a cache of a few seconds): never ahead of them
    kernel_rx = int(Path("/sys/class/net/lo/statistics/rx_bytes").read_text())
    assert 0 < lo.in_octets <= kernel_rx
    assert second.interfaces["lo"].in_octets is not None
    assert second.interfaces["lo"].in_octets >= lo.in_octets
    assert first.unknown_interfaces == ("no-such-if0",)
    assert first.interfaces["no-such-if0"].oper_up is None
    assert first.mem_used_pct is not None
    assert 0 < first.mem_used_pct < 100
    assert isinstance(first.extra["load_1m"], OctetString)
    assert first.cpu_pct is None or 0 <= first.cpu_pct <= 100
    assert first.rtt_s is not None
    assert first.rtt_s > 0


def test_poller_over_v2c_maps_lo_and_reads_counters(snmpd: SnmpdPeer) -> None:
    first, second, walks = poll_twice(snmpd, "v2c")

    check_linux_poll(first, second)
    assert first.snmp_version == "v2c"
    assert walks >= 1


def test_poller_over_v3_gives_the_same_picture(snmpd: SnmpdPeer) -> None:
    first, second, _ = poll_twice(snmpd, "v3")

    check_linux_poll(first, second)
    assert first.snmp_version == "v3"


def test_poller_relearns_interfaces_after_the_ttl(snmpd: SnmpdPeer) -> None:
    now = [1000.0]

    async def body() -> list[int]:
        credentials = snmpd.credentials()
        async with FastSnmpClient(settings(), credentials) as client:
            poller = SnmpPoller(
                client, load_profiles(), credentials, index_ttl_s=60, clock=lambda: now[0]
            )
            device = DeviceRef(
                name="gw",
                host=snmpd.host,
                port=snmpd.port,
                platform="generic_snmp",
                credential="v2c",
            )
            counts = []
            for step in (0, 30, 31):  # t=1000 learn, t=1030 cached, t=1061 expired
                now[0] += step
                poll = await poller.poll(device, ["lo"])
                assert poll.interfaces["lo"].oper_up is True
                counts.append(poller.discovery_walks)
            return counts

    counts = run(body)

    assert counts[0] == 1
    assert counts[1] == 1
    assert counts[2] == 2


def test_poller_reports_an_unreachable_device_without_raising(snmpd: SnmpdPeer) -> None:
    wrong = V2cCredential("wrong", SecretStr("not-the-community"))

    async def body() -> DevicePoll:
        credentials = snmpd.credentials(wrong=wrong)
        async with FastSnmpClient(settings(timeout_s=0.2, retries=0), credentials) as client:
            poller = SnmpPoller(client, load_profiles(), credentials)
            device = DeviceRef(
                name="gone", host=snmpd.host, port=snmpd.port, platform="linux", credential="wrong"
            )
            return await poller.poll(device, ["lo"])

    poll = run(body)

    assert not poll.reachable
    assert poll.error is not None
    assert "timeout, no response" in poll.error
    assert poll.error_kind == "timeout"
    assert poll.interfaces == {}
    assert poll.sys_uptime_s is None


def test_hc_counters_are_counter64(snmpd: SnmpdPeer) -> None:
    async def body() -> SnmpResult:
        async with FastSnmpClient(settings(), snmpd.credentials()) as client:
            target = SnmpTarget(snmpd.host, snmpd.port, "v2c")
            idx = lo_index(await client.walk(target, IF_NAME))
            return await client.get(target, [f"1.3.6.1.2.1.31.1.1.1.6.{idx}"])

    result = run(body)

    assert isinstance(next(iter(result.values.values())), Counter64)


def test_poller_counts_an_auth_failure_as_reachable_with_the_reason(snmpd: SnmpdPeer) -> None:
    """The agent answered (with a USM report), so the device is up; polling it is not possible."""
    bad = V3Credential(
        "bad", snmpd.v3_user, "sha", SecretStr("wrong-auth-key"), "aes", SecretStr("wrong-priv-key")
    )

    async def body() -> DevicePoll:
        credentials = snmpd.credentials(bad=bad)
        async with FastSnmpClient(settings(), credentials) as client:
            poller = SnmpPoller(client, load_profiles(), credentials)
            device = DeviceRef(
                name="core", host=snmpd.host, port=snmpd.port, platform="linux", credential="bad"
            )
            return await poller.poll(device, ["lo"])

    poll = run(body)

    assert poll.reachable
    assert poll.error is not None
    assert "authentication failed" in poll.error
    assert poll.error_kind == "auth"
    assert "wrong-auth-key" not in poll.error
    assert poll.snmp_version == "v3"


def test_configuration_mistakes_raise_at_once(snmpd: SnmpdPeer) -> None:
    async def body() -> list[str]:
        credentials = snmpd.credentials()
        messages = []
        async with FastSnmpClient(settings(), credentials) as client:
            poller = SnmpPoller(client, load_profiles(), credentials)
            for call in (
                lambda: client.get(SnmpTarget(snmpd.host, snmpd.port, "nope"), [SYS_UPTIME]),
                lambda: client.get(SnmpTarget(snmpd.host, snmpd.port, "v2c"), ["1.3.x"]),
                lambda: poller.poll(
                    DeviceRef(name="d", host=snmpd.host, platform="cisco_xr", credential="v2c")
                ),
                lambda: poller.poll(
                    DeviceRef(name="d", host=snmpd.host, platform="linux", credential="nope")
                ),
            ):
                with pytest.raises(SnmpConfigError) as info:
                    await call()
                messages.append(str(info.value))
            assert client.stats.requests == 0  # nothing was sent for a misconfigured request
        return messages

    messages = run(body)

    assert "unknown credential profile 'nope' (known: v2c, v3, v3-sha256-aes256" in messages[0]
    assert "invalid OID '1.3.x'" in messages[1]
    assert "unknown platform 'cisco_xr'" in messages[2]
    assert "unknown credential profile 'nope'" in messages[3]


def test_pysnmp_engines_are_rotated_and_keep_working(snmpd: SnmpdPeer) -> None:
    """pysnmp slows down with every target configured into an engine, so an engine serves a
    bounded number of targets; the next one takes over and v3 keeps working across the switch."""
    credentials = snmpd.credentials()
    profiles = ["v3", "v3-sha256-aes256", "v3-sha512-aes", "v3", "v3-sha256-aes256"]

    async def body() -> tuple[list[SnmpResult], int]:
        adapter = PysnmpAdapter(timeout_s=1.0, retries=1, engine_targets=2)
        try:
            results = []
            for name in profiles:
                target = SnmpTarget(snmpd.host, snmpd.port, name)
                results.append(await adapter.get(target, credentials[name], [SYS_NAME]))
            return results, adapter.engines_created
        finally:
            adapter.close()

    results, engines = run(body)

    assert [r.error for r in results] == [None] * len(profiles)
    assert all(r.values == {SYS_NAME: OctetString(snmpd.sys_name.encode())} for r in results)
    assert engines == 3  # {v3, sha256}, then {sha512, v3}, then {sha256}
