"""A rogue peer on loopback throws garbage at the client: noise, answers with someone else's
request id, wrong community, wrong PDU type or version, and right-looking answers from a spoofing
socket. The client must never resolve a request with any of it (property test), must still take
the true answer when it comes, and must time out when it does not.

The rogue is a real UDP peer built from our own codec: no agent can be told to misbehave on cue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from collectors.snmp import ber
from collectors.snmp.client import ClientStats, FastSnmpClient
from collectors.snmp.credentials import CredentialStore, V2cCredential
from collectors.snmp.errors import SnmpDecodeError, SnmpTimeout
from collectors.snmp.types import (
    Counter32,
    OctetString,
    SnmpResult,
    SnmpTarget,
    SnmpValue,
    TimeTicks,
)
from tests.collectors.snmp_peers import LOOPBACK, SYS_NAME, SYS_UPTIME
from tests.collectors.snmp_peers import settings as snmp_settings

COMMUNITY = b"public"
CREDENTIALS = CredentialStore({"pub": V2cCredential("pub", SecretStr(COMMUNITY.decode()))})
OIDS = (SYS_UPTIME, SYS_NAME)
TRUE_VALUES: dict[str, SnmpValue] = {
    SYS_UPTIME: TimeTicks(4242),
    SYS_NAME: OctetString(b"the-real-one"),
}
FAKE_VALUES: list[tuple[str, SnmpValue]] = [
    (SYS_UPTIME, Counter32(666)),
    (SYS_NAME, OctetString(b"garbage")),
]

# A piece of garbage is made from the request it answers: request -> (datagram, send from spoofer?)
Garbage = Callable[[ber.Message], tuple[bytes, bool]]


def reply(
    request: ber.Message,
    *,
    request_id: int | None = None,
    community: bytes = COMMUNITY,
    tag: int = ber.RESPONSE,
    version: int = ber.VERSION_2C,
    varbinds: list[tuple[str, SnmpValue]] | None = None,
) -> bytes:
    return ber.encode_message(
        community=community,
        tag=tag,
        request_id=request.pdu.request_id if request_id is None else request_id,
        varbinds=FAKE_VALUES if varbinds is None else varbinds,
        version=version,
    )


GARBAGE: st.SearchStrategy[Garbage] = st.one_of(
    st.binary(min_size=1, max_size=120).map(lambda noise: lambda _req: (noise, False)),
    st.integers(-(2**31), 2**31 - 1).map(
        lambda rid: (
            lambda req: (
                reply(req, request_id=rid if rid != req.pdu.request_id else rid ^ 1),
                False,
            )
        )
    ),
    st.binary(min_size=1, max_size=10).map(
        lambda c: lambda req: (reply(req, community=c if c != COMMUNITY else c + b"x"), False)
    ),
    st.sampled_from([ber.GET_REQUEST, ber.REPORT, ber.SNMPV2_TRAP, ber.GET_NEXT_REQUEST]).map(
        lambda tag: lambda req: (reply(req, tag=tag), False)
    ),
    st.just(lambda req: (reply(req, version=ber.VERSION_1), False)),
    st.just(lambda req: (reply(req), True)),  # a perfect forgery, but from another port
    st.integers(0, 40).map(lambda cut: lambda req: (reply(req)[: -1 - cut], False)),
)


@dataclass
class Rogue:
    """Answers each request with the garbage, then (if ``honest``) with the true answer."""

    garbage: list[Garbage]
    honest: bool
    agent: asyncio.DatagramTransport | None = None
    spoofer: asyncio.DatagramTransport | None = None
    unsolicited: bytes = b"\x30\x00"  # (asyncio does not send empty datagrams)

    def on_request(self, data: bytes, addr: tuple[Any, ...]) -> None:
        assert self.agent is not None
        assert self.spoofer is not None
        request = ber.decode_message(data)
        self.spoofer.sendto(self.unsolicited, addr)
        for make in self.garbage:
            datagram, spoofed = make(request)
            (self.spoofer if spoofed else self.agent).sendto(datagram, addr)
        if self.honest:
            self.agent.sendto(reply(request, varbinds=list(TRUE_VALUES.items())), addr)


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple[Any, ...]], None] | None) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.on_datagram is not None:
            self.on_datagram(data, addr)


async def against(rogue: Rogue, *, timeout_s: float = 2.0) -> tuple[SnmpResult, ClientStats]:
    loop = asyncio.get_running_loop()
    agent, _ = await loop.create_datagram_endpoint(
        lambda: _Endpoint(rogue.on_request), local_addr=(LOOPBACK, 0)
    )
    spoofer, _ = await loop.create_datagram_endpoint(
        lambda: _Endpoint(None), local_addr=(LOOPBACK, 0)
    )
    rogue.agent = agent
    rogue.spoofer = spoofer
    port = int(agent.get_extra_info("sockname")[1])
    try:
        config = snmp_settings(timeout_s=timeout_s, retries=0)
        async with FastSnmpClient(config, CREDENTIALS, local_host=LOOPBACK) as client:
            result = await client.get(SnmpTarget(LOOPBACK, port, "pub"), OIDS)
            return result, client.stats
    finally:
        agent.close()
        spoofer.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(GARBAGE, max_size=8), st.binary(min_size=1, max_size=40))
def test_garbage_never_resolves_a_request_and_the_true_answer_still_wins(
    garbage: list[Garbage], unsolicited: bytes
) -> None:
    rogue = Rogue(garbage, honest=True, unsolicited=unsolicited)

    result, stats = asyncio.run(against(rogue))

    assert result.error is None
    assert result.values == TRUE_VALUES
    assert stats.responses == 1
    assert stats.malformed + stats.unmatched == len(garbage) + 1


@settings(max_examples=25, deadline=None)
@given(st.lists(GARBAGE, min_size=1, max_size=8))
def test_garbage_alone_only_ever_ends_in_a_timeout(garbage: list[Garbage]) -> None:
    rogue = Rogue(garbage, honest=False)

    result, stats = asyncio.run(against(rogue, timeout_s=0.05))

    assert isinstance(result.error, SnmpTimeout)
    assert result.values == {}
    assert stats.responses == 0


def test_an_answer_with_other_varbinds_is_a_decode_error_not_values() -> None:
    """The agent itself (right address, id, community) answering for other OIDs is a broken
    agent: the request fails loudly rather than returning values for OIDs it did not ask for."""

    def wrong_oids(request: ber.Message) -> tuple[bytes, bool]:
        return reply(request, varbinds=[("1.3.6.1.2.1.1.1.0", OctetString(b"x"))] * 2), False

    result, _ = asyncio.run(against(Rogue([wrong_oids], honest=True)))

    assert isinstance(result.error, SnmpDecodeError)
    assert "do not match the request" in str(result.error)
    assert result.values == {}
