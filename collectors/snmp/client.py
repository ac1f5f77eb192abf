"""FastSnmpClient: many SNMP targets over one asyncio UDP socket, v2c on a hand-made fast path.

The common case of a collector, a v2c GET of a fixed OID set, never touches pysnmp: the request is
a pre-encoded :class:`~collectors.snmp.ber.RequestTemplate` with only the request id patched, all
targets share one datagram socket, and answers are matched to requests by request id, source
address, community and PDU type; anything else that arrives (late duplicates, garbage, spoofed
datagrams) is counted and dropped, never used to resolve a request. SNMPv3 GETs and walks go
through :class:`~collectors.snmp.pysnmp_adapter.PysnmpAdapter`.

v2c walks take the fast path too (GETBULK through the same socket). They were first done through
pysnmp, but pysnmp's per-target engine configuration made the first-cycle ifIndex discovery of
10,000 targets (bench/snmp_poll.py --cycle) take 170 s of CPU and time out for most targets;
over the fast path the same discovery costs about a second.

Limits from :class:`~collectors.settings.SnmpSettings` hold for every operation: ``timeout_s`` per
attempt, ``retries`` re-sends (same request id, so a late first answer still counts),
``max_in_flight`` operations at once in total and ``max_in_flight_per_target`` per agent
(host, port). Network and protocol outcomes are data (:attr:`SnmpResult.error`); configuration
mistakes (unknown credential profile, invalid OID) raise :class:`SnmpConfigError` at once.

Use it as ``async with FastSnmpClient(settings, credentials) as client: ...`` inside a running
event loop; the library never starts one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Final

from collectors.settings import SnmpSettings
from collectors.snmp.ber import (
    REQUEST_ID_MAX,
    REQUEST_ID_MIN,
    RESPONSE,
    VERSION_2C,
    Message,
    RequestTemplate,
    decode_message,
    encode_bulk_request,
    normalize_oid,
    oid_key,
)
from collectors.snmp.credentials import Credential, CredentialStore, V2cCredential
from collectors.snmp.errors import (
    SnmpConfigError,
    SnmpDecodeError,
    SnmpError,
    SnmpProtocolError,
    SnmpTimeout,
)
from collectors.snmp.pysnmp_adapter import PysnmpAdapter
from collectors.snmp.types import (
    EndOfMibView,
    NoSuchInstance,
    NoSuchObject,
    SnmpResult,
    SnmpTarget,
    SnmpValue,
)

logger = logging.getLogger(__name__)

_RECEIVE_BUFFER: Final = 4 * 1024 * 1024
_TIMED_OUT: Final = object()
_CLOSED: Final = object()
_UNKNOWN: Final = b"\x00unknown"
#: Rows per GETBULK of a walk: a reply of 25 ifName rows fits any datagram an agent sends.
_WALK_REPETITIONS: Final = 25
_Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class ClientStats:
    """Counters of a client since it started (a snapshot)."""

    requests: int
    retransmits: int
    responses: int
    timeouts: int
    #: Datagrams that did not decode as SNMP.
    malformed: int
    #: Well-formed datagrams that matched no request in flight (wrong id, address, community...).
    unmatched: int
    in_flight: int
    peak_in_flight: int
    peak_in_flight_per_target: int


class _Pending:
    """One fast-path request in flight (mutable, private)."""

    __slots__ = (
        "address",
        "attempts_left",
        "community",
        "deadline",
        "future",
        "packet",
        "rtt",
        "sent_at",
    )

    def __init__(
        self,
        address: _Address,
        community: bytes,
        packet: bytes,
        future: asyncio.Future[object],
        now: float,
        *,
        timeout: float,
        attempts: int,
    ) -> None:
        self.address = address
        self.community = community
        self.packet = packet
        self.future = future
        self.sent_at = now
        self.deadline = now + timeout
        self.attempts_left = attempts - 1
        self.rtt = 0.0


class _Slots:
    """A FIFO counting limiter whose uncontended path is a plain call, not a coroutine.

    :meth:`release` hands a slot straight to the oldest waiter; a waiter cancelled after being
    handed one passes it on, so slots never leak.
    """

    __slots__ = ("active", "free", "users", "waiters")

    def __init__(self, limit: int) -> None:
        self.free = limit
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.users = 0  # operations holding or waiting for a slot (per-target gates only)
        self.active = 0  # operations holding a slot

    def try_take(self) -> bool:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return True
        return False

    async def take(self) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed a slot we will not use: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(future)
            raise

    def release(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, client: FastSnmpClient) -> None:
        self._client = client

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self._client._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        logger.debug("SNMP socket error: %s", exc)


class FastSnmpClient:
    """SNMP GETs and walks for many targets through one UDP socket, bounded and timed out."""

    def __init__(
        self,
        settings: SnmpSettings,
        credentials: CredentialStore,
        *,
        local_host: str = "0.0.0.0",  # noqa: S104 - the source address; agents' replies return to it
        template_cache_size: int = 16_384,
    ) -> None:
        self._settings = settings
        self._credentials = credentials
        self._local_host = local_host
        self._timeout = settings.timeout_s
        self._attempts = settings.retries + 1
        self._per_target_limit = settings.max_in_flight_per_target
        self._template_cache_size = template_cache_size
        self._adapter = PysnmpAdapter(timeout_s=settings.timeout_s, retries=settings.retries)
        self._transport: asyncio.DatagramTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._global: _Slots | None = None
        self._gates: dict[_Address, _Slots] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._fast: dict[str, bytes | None] = {}
        self._pending: dict[int, _Pending] = {}
        self._templates: dict[tuple[bytes, tuple[str, ...]], RequestTemplate] = {}
        self._addresses: dict[tuple[str, int], _Address] = {}
        self._next_id = random.randint(REQUEST_ID_MIN, REQUEST_ID_MAX)  # noqa: S311 - not secret
        # counters
        self._requests = 0
        self._retransmits = 0
        self._responses = 0
        self._timeouts = 0
        self._malformed = 0
        self._unmatched = 0
        self._in_flight = 0
        self._peak_in_flight = 0
        self._peak_per_target = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the shared UDP socket (idempotent)."""
        if self._transport is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._global = _Slots(self._settings.max_in_flight)
        transport, _ = await self._loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self._local_host, 0), family=socket.AF_INET
        )
        sock = transport.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
        except OSError as exc:  # pragma: no cover - the kernel caps it quietly on Linux
            logger.debug("cannot enlarge the SNMP receive buffer: %s", exc)
        self._transport = transport
        logger.debug("SNMP client listening on %s", sock.getsockname())

    async def aclose(self) -> None:
        """Close the socket and the pysnmp engine; requests still in flight end with an error."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_result(_CLOSED)
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self._adapter.close()

    async def __aenter__(self) -> FastSnmpClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def local_address(self) -> _Address:
        """The (host, port) the shared socket is bound to."""
        if self._transport is None:
            raise RuntimeError("the client is not started")
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters."""
        return ClientStats(
            requests=self._requests,
            retransmits=self._retransmits,
            responses=self._responses,
            timeouts=self._timeouts,
            malformed=self._malformed,
            unmatched=self._unmatched,
            in_flight=self._in_flight,
            peak_in_flight=self._peak_in_flight,
            peak_in_flight_per_target=self._peak_per_target,
        )

    # -- public operations -------------------------------------------------------------------

    def credential(self, name: str) -> Credential:
        """The credential profile ``name`` (SnmpConfigError naming the known ones if unknown)."""
        return self._credentials[name]

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> SnmpResult:
        """GET ``oids`` from ``target``: v2c on the fast path, v3 through pysnmp."""
        community = self._fast.get(target.credential, _UNKNOWN)
        if community is _UNKNOWN:
            community = self._classify(target.credential)
        address = self._addresses.get((target.host, target.port))
        if address is None:
            address = await self._address(target)
        if community is None:  # SNMPv3
            credential = self._credentials[target.credential]
            gate = await self._enter(address)
            try:
                return await self._adapter.get(target, credential, oids)
            finally:
                self._leave(address, gate)

        key = (community, oids if isinstance(oids, tuple) else tuple(oids))
        template = self._templates.get(key)
        if template is None:
            template = self._template(key)
        gate = await self._enter(address)
        try:
            answer, rtt = await self._exchange(address, community, template.render)
        finally:
            self._leave(address, gate)
        if isinstance(answer, Message):
            return _result(target, template, answer, rtt)
        return self._failure(target, answer)

    async def walk(self, target: SnmpTarget, root: str, *, max_rows: int = 10_000) -> SnmpResult:
        """Every value under ``root``, in agent order: v2c by GETBULK on the fast path, v3 through
        pysnmp. A walk that fails midway keeps the rows it got, with the error."""
        community = self._fast.get(target.credential, _UNKNOWN)
        if community is _UNKNOWN:
            community = self._classify(target.credential)
        address = self._addresses.get((target.host, target.port))
        if address is None:
            address = await self._address(target)
        prefix = normalize_oid(root)
        gate = await self._enter(address)
        try:
            if community is None:
                credential = self._credentials[target.credential]
                return await self._adapter.walk(target, credential, prefix, max_rows=max_rows)
            return await self._fast_walk(target, address, community, prefix, max_rows)
        finally:
            self._leave(address, gate)

    async def _fast_walk(
        self, target: SnmpTarget, address: _Address, community: bytes, prefix: str, max_rows: int
    ) -> SnmpResult:
        values: dict[str, SnmpValue] = {}
        started = self._loop.time() if self._loop is not None else 0.0
        current, current_key = prefix, oid_key(prefix)
        inside = prefix + "."
        while len(values) < max_rows:
            repetitions = min(_WALK_REPETITIONS, max_rows - len(values))
            oid = current

            def build(rid: int, oid: str = oid, repetitions: int = repetitions) -> bytes:
                return encode_bulk_request(community, (oid,), rid, max_repetitions=repetitions)

            answer, _ = await self._exchange(address, community, build)
            if not isinstance(answer, Message):
                return replace(self._failure(target, answer), values=values)
            pdu = answer.pdu
            error: SnmpError
            if pdu.error_status:
                error = SnmpProtocolError(str(target), pdu.error_status, pdu.error_index)
                return SnmpResult(target, values, error, None)
            if not pdu.varbinds:
                break
            for oid, value in pdu.varbinds:
                if not oid.startswith(inside) or isinstance(value, EndOfMibView):
                    return SnmpResult(target, values, None, self._elapsed(started))
                key = oid_key(oid)
                if key <= current_key:
                    error = SnmpDecodeError(f"agent returned a non-increasing OID {oid}")
                    return SnmpResult(target, values, error, None)
                if not isinstance(value, NoSuchObject | NoSuchInstance):
                    values[oid] = value
                current, current_key = oid, key
                if len(values) >= max_rows:
                    break
        return SnmpResult(target, values, None, self._elapsed(started))

    def _elapsed(self, started: float) -> float:
        return (self._loop.time() if self._loop is not None else started) - started

    def _failure(self, target: SnmpTarget, answer: object) -> SnmpResult:
        if answer is _CLOSED:
            return SnmpResult(target, error=SnmpError(f"{target}: the SNMP client was closed"))
        return SnmpResult(target, error=SnmpTimeout(str(target), self._timeout, self._attempts))

    async def _exchange(
        self, address: _Address, community: bytes, build: Callable[[int], bytes]
    ) -> tuple[object, float]:
        """Send ``build(request_id)`` and wait for its answer (retransmitting on timeouts).

        Returns the answering Message and its round trip, or a sentinel (timed out, closed).
        """
        loop = self._loop
        transport = self._transport
        if loop is None or transport is None:
            raise RuntimeError("FastSnmpClient is not started: use 'async with' or start()")
        rid = self._new_request_id()
        packet = build(rid)
        future: asyncio.Future[object] = loop.create_future()
        pending = _Pending(
            address,
            community,
            packet,
            future,
            loop.time(),
            timeout=self._timeout,
            attempts=self._attempts,
        )
        self._pending[rid] = pending
        self._requests += 1
        if self._sweeper is None:
            self._sweeper = loop.call_at(pending.deadline, self._sweep)
        transport.sendto(packet, address)
        try:
            answer = await future
        finally:
            self._pending.pop(rid, None)
        return answer, pending.rtt

    # -- internals ---------------------------------------------------------------------------

    def _classify(self, name: str) -> bytes | None:
        """The community of a v2c profile, None for v3; SnmpConfigError for unknown names."""
        credential = self._credentials[name]
        community = (
            credential.community.get_secret_value().encode()
            if isinstance(credential, V2cCredential)
            else None
        )
        self._fast[name] = community
        return community

    def _template(self, key: tuple[bytes, tuple[str, ...]]) -> RequestTemplate:
        template = RequestTemplate(key[0], key[1])
        if len(self._templates) >= self._template_cache_size:
            del self._templates[next(iter(self._templates))]
        self._templates[key] = template
        return template

    async def _address(self, target: SnmpTarget) -> _Address:
        if not 0 < target.port < 65536:
            raise SnmpConfigError(f"{target}: port out of range")
        address = (await self._resolve(target.host), target.port)
        self._addresses[(target.host, target.port)] = address
        return address

    async def _resolve(self, host: str) -> str:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            if address.version != 4:
                raise SnmpConfigError(f"{host}: only IPv4 agents are supported")
            return str(address)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM
            )
        except OSError as exc:
            raise SnmpConfigError(f"{host}: cannot resolve: {exc}") from exc
        return str(infos[0][4][0])

    async def _enter(self, address: _Address) -> _Slots:
        """Take a per-target slot, then a global one; returns the target's gate."""
        limiter = self._global
        if limiter is None:
            raise RuntimeError("FastSnmpClient is not started: use 'async with' or start()")
        gate = self._gates.get(address)
        if gate is None:
            gate = self._gates[address] = _Slots(self._per_target_limit)
        gate.users += 1
        try:
            if not gate.try_take():
                await gate.take()
            if not limiter.try_take():
                try:
                    await limiter.take()
                except BaseException:
                    gate.release()
                    raise
        except BaseException:
            gate.users -= 1
            if gate.users == 0:
                del self._gates[address]
            raise
        gate.active += 1
        self._peak_per_target = max(self._peak_per_target, gate.active)
        self._in_flight += 1
        self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        return gate

    def _leave(self, address: _Address, gate: _Slots) -> None:
        gate.active -= 1
        self._in_flight -= 1
        assert self._global is not None
        self._global.release()
        gate.release()
        gate.users -= 1
        if gate.users == 0:
            del self._gates[address]

    def _new_request_id(self) -> int:
        rid = self._next_id
        while rid in self._pending:
            rid = rid + 1 if rid < REQUEST_ID_MAX else REQUEST_ID_MIN
        self._next_id = rid + 1 if rid < REQUEST_ID_MAX else REQUEST_ID_MIN
        return rid

    def _sweep(self) -> None:
        """Retransmit or time out requests past their deadline; re-arm for the next one.

        Every request has the same timeout and (re)sent ones go to the end of ``_pending``, so the
        dict is in deadline order and only its head needs looking at.
        """
        self._sweeper = None
        loop, transport, pending = self._loop, self._transport, self._pending
        if loop is None or transport is None:
            return
        now = loop.time()
        while pending:
            rid = next(iter(pending))
            head = pending[rid]
            if head.future.done():
                del pending[rid]  # answered; its coroutine has not resumed yet
                continue
            if head.deadline > now:
                self._sweeper = loop.call_at(head.deadline, self._sweep)
                return
            del pending[rid]
            if head.attempts_left > 0:
                head.attempts_left -= 1
                head.sent_at = now
                head.deadline = now + self._timeout
                pending[rid] = head
                self._retransmits += 1
                transport.sendto(head.packet, head.address)
            else:
                self._timeouts += 1
                head.future.set_result(_TIMED_OUT)

    def _on_datagram(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            message = decode_message(data)
        except SnmpDecodeError as exc:
            self._malformed += 1
            logger.debug("dropped a malformed datagram from %s: %s", addr, exc)
            return
        pdu = message.pdu
        pending = self._pending.get(pdu.request_id)
        if (
            pending is None
            or pending.address != addr
            or pdu.tag != RESPONSE
            or message.version != VERSION_2C
            or message.community != pending.community
            or pending.future.done()
        ):
            self._unmatched += 1
            logger.debug("dropped an unmatched SNMP message from %s", addr)
            return
        self._responses += 1
        pending.rtt = self._loop.time() - pending.sent_at if self._loop is not None else 0.0
        pending.future.set_result(message)


def _result(
    target: SnmpTarget, template: RequestTemplate, message: Message, rtt: float
) -> SnmpResult:
    pdu = message.pdu
    if pdu.error_status:
        error: SnmpError = SnmpProtocolError(str(target), pdu.error_status, pdu.error_index)
        return SnmpResult(target, {}, error, rtt)
    varbinds = pdu.varbinds
    oids = template.oids
    if len(varbinds) != len(oids) or any(
        vb[0] != oid for vb, oid in zip(varbinds, oids, strict=True)
    ):
        error = SnmpDecodeError("response varbinds do not match the request")
        return SnmpResult(target, {}, error, rtt)
    return SnmpResult(target, dict(varbinds), None, rtt)
