"""Timeouts, retries, cancellation and the in-flight bounds, asserted with counters (not timing).

Closed ports are real: a UDP socket is bound on loopback and closed, so nothing answers. Where the
test must see how many requests an agent has outstanding at once it uses a small "slow agent" on
loopback (a real UDP peer built from our codec) that answers each GET after a short hold and
counts what it holds; snmpd answers far too fast for concurrency to be observable from outside.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import SecretStr

from collectors.snmp import ber
from collectors.snmp.client import ClientStats, FastSnmpClient
from collectors.snmp.credentials import CredentialStore, V2cCredential
from collectors.snmp.errors import SnmpTimeout
from collectors.snmp.types import OctetString, SnmpResult, SnmpTarget
from tests.collectors.snmp_peers import LOOPBACK, SYS_NAME, free_udp_port, run, settings

CREDENTIALS = CredentialStore({"pub": V2cCredential("pub", SecretStr("public"))})


def test_a_closed_port_times_out_after_the_configured_retries() -> None:
    port = free_udp_port()

    async def body() -> tuple[SnmpResult, ClientStats]:
        async with FastSnmpClient(settings(timeout_s=0.05, retries=3), CREDENTIALS) as client:
            result = await client.get(SnmpTarget(LOOPBACK, port, "pub"), [SYS_NAME])
            return result, client.stats

    result, stats = run(body)

    assert isinstance(result.error, SnmpTimeout)
    assert result.error.attempts == 4
    assert result.rtt_s is None
    assert (stats.requests, stats.retransmits, stats.timeouts, stats.responses) == (1, 3, 1, 0)
    assert stats.in_flight == 0


def test_bounds_hold_against_closed_ports() -> None:
    ports = [free_udp_port() for _ in range(4)]
    # half the requests go to the first target, queued first: only its per-target bound keeps
    # them from taking every global slot
    order = [ports[0]] * 20 + [ports[1 + i % 3] for i in range(20)]

    async def body() -> tuple[list[SnmpResult], ClientStats]:
        config = settings(timeout_s=0.05, retries=0, max_in_flight=6, max_in_flight_per_target=2)
        async with FastSnmpClient(config, CREDENTIALS) as client:
            results = await asyncio.gather(
                *(client.get(SnmpTarget(LOOPBACK, port, "pub"), [SYS_NAME]) for port in order)
            )
            return list(results), client.stats

    results, stats = run(body)

    assert all(isinstance(r.error, SnmpTimeout) for r in results)
    assert stats.timeouts == 40
    assert stats.peak_in_flight == 6
    assert stats.peak_in_flight_per_target == 2
    assert stats.in_flight == 0


@dataclass
class SlowAgent:
    """Answers each GET with sysName after ``hold_s``; counts requests it holds, per port."""

    hold_s: float
    port_of: dict[asyncio.DatagramTransport, int] = field(default_factory=dict)
    holding: Counter[int] = field(default_factory=Counter)
    peak_per_port: Counter[int] = field(default_factory=Counter)
    total_holding: int = 0
    peak_total: int = 0
    answered: int = 0

    def attach(self, transport: asyncio.DatagramTransport, port: int) -> None:
        self.port_of[transport] = port

    def on_request(
        self, transport: asyncio.DatagramTransport, data: bytes, addr: tuple[Any, ...]
    ) -> None:
        port = self.port_of[transport]
        request = ber.decode_message(data)
        self.holding[port] += 1
        self.total_holding += 1
        self.peak_per_port[port] = max(self.peak_per_port[port], self.holding[port])
        self.peak_total = max(self.peak_total, self.total_holding)
        reply = ber.encode_message(
            community=request.community,
            tag=ber.RESPONSE,
            request_id=request.pdu.request_id,
            varbinds=[(oid, OctetString(b"slow")) for oid, _ in request.pdu.varbinds],
        )

        def answer() -> None:
            self.holding[port] -= 1
            self.total_holding -= 1
            self.answered += 1
            transport.sendto(reply, addr)

        asyncio.get_running_loop().call_later(self.hold_s, answer)


class _Port(asyncio.DatagramProtocol):
    def __init__(self, agent: SlowAgent) -> None:
        self.agent = agent
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        assert self.transport is not None
        self.agent.on_request(self.transport, data, addr)


async def start_slow_agent(
    agent: SlowAgent, count: int
) -> list[tuple[asyncio.DatagramTransport, int]]:
    loop = asyncio.get_running_loop()
    ports = []
    for _ in range(count):
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Port(agent), local_addr=(LOOPBACK, 0)
        )
        port = int(transport.get_extra_info("sockname")[1])
        agent.attach(transport, port)
        ports.append((transport, port))
    return ports


def test_bounds_hold_as_seen_by_the_agents() -> None:
    agent = SlowAgent(hold_s=0.02)

    async def body() -> tuple[list[SnmpResult], ClientStats]:
        endpoints = await start_slow_agent(agent, 4)
        config = settings(timeout_s=2.0, retries=0, max_in_flight=6, max_in_flight_per_target=2)
        try:
            async with FastSnmpClient(config, CREDENTIALS, local_host=LOOPBACK) as client:
                ports = [endpoints[0][1]] * 30 + [endpoints[1 + i % 3][1] for i in range(30)]
                results = await asyncio.gather(
                    *(client.get(SnmpTarget(LOOPBACK, port, "pub"), [SYS_NAME]) for port in ports)
                )
                return list(results), client.stats
        finally:
            for transport, _ in endpoints:
                transport.close()

    results, stats = run(body)

    assert [r.values for r in results] == [{SYS_NAME: OctetString(b"slow")}] * 60
    assert agent.answered == 60
    assert agent.peak_total == 6  # what the agents held at once: the global bound...
    assert set(agent.peak_per_port.values()) == {2}  # ...and the per-target bound, on every agent
    assert stats.peak_in_flight == 6


def test_a_cancelled_get_frees_its_slots() -> None:
    agent = SlowAgent(hold_s=0.01)
    closed = free_udp_port()

    async def body() -> tuple[SnmpResult, ClientStats]:
        endpoints = await start_slow_agent(agent, 1)
        config = settings(timeout_s=5.0, retries=0, max_in_flight=1, max_in_flight_per_target=1)
        try:
            async with FastSnmpClient(config, CREDENTIALS, local_host=LOOPBACK) as client:
                stuck = asyncio.create_task(
                    client.get(SnmpTarget(LOOPBACK, closed, "pub"), [SYS_NAME])
                )
                await asyncio.sleep(0)  # one loop turn: the task sends and waits for its answer
                assert client.stats.in_flight == 1
                stuck.cancel()
                await asyncio.gather(stuck, return_exceptions=True)
                # with max_in_flight=1 this GET could never start if the slot had leaked
                result = await client.get(SnmpTarget(LOOPBACK, endpoints[0][1], "pub"), [SYS_NAME])
                return result, client.stats
        finally:
            endpoints[0][0].close()

    result, stats = run(body)

    assert result.error is None
    assert result.values == {SYS_NAME: OctetString(b"slow")}
    assert stats.in_flight == 0
    assert stats.timeouts == 0
