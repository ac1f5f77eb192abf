"""Async ICMP echo prober: several packets per probe, loss and round-trip times measured.

Socket choice, per address family, tried in this order (``mode="auto"``)::

    1. an unprivileged ICMP datagram socket (SOCK_DGRAM + IPPROTO_ICMP/ICMPV6), when the process's
       group is inside ``net.ipv4.ping_group_range`` (Linux; the range is per network namespace).
       The kernel sets the identifier and hands the socket only its own replies.
    2. a raw socket (SOCK_RAW; root or CAP_NET_RAW). Every raw ICMP socket sees every reply, so
       a kernel filter passes only echo replies and each is checked: identifier, payload nonce,
       checksum (IPv4), source address, sequence.

If neither can be opened, :class:`IcmpUnavailable` says why; nothing shells out to ``ping``.

One :class:`Pinger` holds one socket per family for any number of concurrent probes: replies are
matched to the waiting packet by (source address, sequence number), RTTs are measured with the
monotonic clock at send and at receipt. :func:`probe_many` bounds how many probes run at once.

Errors::

    IcmpError
    └── IcmpUnavailable     no ICMP socket can be opened here (and why)
    ValueError              not an IP address, fewer than two packets, non-positive times
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import secrets
import socket
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

logger = logging.getLogger(__name__)

Mode = Literal["auto", "dgram", "raw"]
SocketKind = Literal["dgram", "raw"]

PING_GROUP_RANGE: Final = Path("/proc/sys/net/ipv4/ping_group_range")
ICMP_ECHO_REQUEST: Final = 8
ICMP_ECHO_REPLY: Final = 0
ICMPV6_ECHO_REQUEST: Final = 128
ICMPV6_ECHO_REPLY: Final = 129
#: Linux socket options of raw ICMP sockets (not exported by the socket module).
SOL_RAW: Final = 255
ICMP_FILTER: Final = 1
ICMP6_FILTER: Final = 1
NONCE_BYTES: Final = 8
PAYLOAD_BYTES: Final = 56  # as ping(8): 64-byte ICMP messages
MAX_READS_PER_WAKEUP: Final = 256

#: User-facing messages: key → (Russian, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "unavailable": (
        "ICMP недоступен: {detail}. Разрешите непривилегированный ping "
        "(sysctl net.ipv4.ping_group_range) или запустите сборщик с CAP_NET_RAW",
        "ICMP is unavailable: {detail}. Allow unprivileged ping "
        "(sysctl net.ipv4.ping_group_range) or run the collector with CAP_NET_RAW",
    ),
}


class IcmpError(Exception):
    """Base of the errors of this module."""


class IcmpUnavailable(IcmpError):
    """No ICMP socket can be opened: unprivileged ping is not allowed and raw sockets are not."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"no ICMP socket can be opened: {detail}")

    def message(self, locale: str = "ru") -> str:
        """The explanation for users, with what to change."""
        ru, en = MESSAGES["unavailable"]
        return (en if locale == "en" else ru).format(detail=self.detail)


@dataclass(frozen=True)
class IcmpResult:
    """One probe of one address: packets sent and answered, loss, RTT statistics (None if none)."""

    address: str
    sent: int
    received: int
    loss_pct: float
    rtt_min_ms: float | None
    rtt_avg_ms: float | None
    rtt_max_ms: float | None

    @classmethod
    def of(cls, address: str, sent: int, rtts_ms: Sequence[float]) -> IcmpResult:
        received = len(rtts_ms)
        loss = round(100.0 * (sent - received) / sent, 2) if sent else 100.0
        if not rtts_ms:
            return cls(address, sent, 0, loss, None, None, None)
        return cls(
            address,
            sent,
            received,
            loss,
            round(min(rtts_ms), 3),
            round(sum(rtts_ms) / received, 3),
            round(max(rtts_ms), 3),
        )


def ping_group_allows(path: Path = PING_GROUP_RANGE) -> bool | None:
    """Whether one of our groups may open ICMP datagram sockets; None if the range is unreadable."""
    try:
        low, high = (int(v) for v in path.read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return None
    groups = {os.getegid(), *os.getgroups()}
    return any(low <= gid <= high for gid in groups)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _open_socket(family: socket.AddressFamily, mode: Mode) -> tuple[socket.socket, SocketKind]:
    """Open an ICMP socket of ``family``, preferring the unprivileged kind (see the module doc)."""
    proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
    reasons: list[str] = []
    if mode in ("auto", "dgram"):
        allowed = ping_group_allows()
        if allowed is False and mode == "auto":
            range_text = PING_GROUP_RANGE.read_text(encoding="ascii").split()
            reasons.append(
                f"group {os.getegid()} is outside net.ipv4.ping_group_range "
                f"({' '.join(range_text)})"
            )
        else:
            try:
                return socket.socket(family, socket.SOCK_DGRAM, proto), "dgram"
            except OSError as exc:
                reasons.append(f"ICMP datagram socket: {exc.strerror or exc}")
    if mode in ("auto", "raw"):
        try:
            sock = socket.socket(family, socket.SOCK_RAW, proto)
        except OSError as exc:
            reasons.append(f"raw socket (needs root or CAP_NET_RAW): {exc.strerror or exc}")
        else:
            _install_filter(sock, family)
            return sock, "raw"
    raise IcmpUnavailable("; ".join(reasons))


def _install_filter(sock: socket.socket, family: socket.AddressFamily) -> None:
    """Let the kernel pass only echo replies to a raw socket (best effort: checks follow anyway)."""
    try:
        if family == socket.AF_INET:
            blocked = ~(1 << ICMP_ECHO_REPLY) & 0xFFFFFFFF
            sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", blocked))
        else:
            words = [0xFFFFFFFF] * 8
            words[ICMPV6_ECHO_REPLY >> 5] &= ~(1 << (ICMPV6_ECHO_REPLY & 31)) & 0xFFFFFFFF
            sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *words))
    except OSError as exc:
        logger.debug("ICMP filter not installed: %s", exc)


@dataclass
class _Channel:
    """One ICMP socket of one family and the packets waiting for a reply on it."""

    sock: socket.socket
    kind: SocketKind
    family: socket.AddressFamily
    loop: asyncio.AbstractEventLoop
    identifier: int = field(default_factory=lambda: secrets.randbelow(0x10000))
    nonce: bytes = field(default_factory=lambda: secrets.token_bytes(NONCE_BYTES))
    next_seq: int = field(default_factory=lambda: secrets.randbelow(0x10000))
    #: (source address, sequence) → (future of the RTT in ms, send time in ns)
    pending: dict[tuple[str, int], tuple[asyncio.Future[float], int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sock.setblocking(False)
        self.loop.add_reader(self.sock.fileno(), self._on_readable)

    @property
    def request_type(self) -> int:
        return ICMP_ECHO_REQUEST if self.family == socket.AF_INET else ICMPV6_ECHO_REQUEST

    @property
    def reply_type(self) -> int:
        return ICMP_ECHO_REPLY if self.family == socket.AF_INET else ICMPV6_ECHO_REPLY

    def close(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for fut, _sent in self.pending.values():
            fut.cancel()
        self.pending.clear()

    def _allocate(self, address: str) -> int:
        for _ in range(0x10000):
            seq = self.next_seq
            self.next_seq = (seq + 1) & 0xFFFF
            if (address, seq) not in self.pending:
                return seq
        raise IcmpError(f"more than 65536 packets in flight to {address}")

    def _packet(self, seq: int) -> bytes:
        payload = self.nonce + bytes(PAYLOAD_BYTES - NONCE_BYTES)
        header = struct.pack("!BBHHH", self.request_type, 0, 0, self.identifier, seq)
        if self.family == socket.AF_INET:  # ICMPv6 checksums are the kernel's (pseudo-header)
            checksum = _checksum(header + payload)
            header = struct.pack("!BBHHH", self.request_type, 0, checksum, self.identifier, seq)
        return header + payload

    async def echo(self, address: str, delay_s: float, timeout_s: float) -> float | None:
        """Send one echo request after ``delay_s``; the RTT in ms, or None if lost."""
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        seq = self._allocate(address)
        fut: asyncio.Future[float] = self.loop.create_future()
        self.pending[(address, seq)] = (fut, time.monotonic_ns())
        try:
            try:
                await self.loop.sock_sendto(self.sock, self._packet(seq), (address, 0))
            except OSError as exc:  # e.g. no route: the packet is sent and lost
                logger.debug("ICMP echo to %s failed: %s", address, exc.strerror or exc)
                return None
            try:
                return await asyncio.wait_for(fut, timeout_s)
            except TimeoutError:
                return None
        finally:
            self.pending.pop((address, seq), None)

    def _on_readable(self) -> None:
        for _ in range(MAX_READS_PER_WAKEUP):
            try:
                data, source = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # a queued ICMP error (unreachable...): the packet is lost
                if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK):
                    logger.debug("ICMP socket error: %s", exc.strerror or exc)
                continue
            self._receive(data, str(source[0]), time.monotonic_ns())

    def _receive(self, data: bytes, source: str, received_ns: int) -> None:
        if self.kind == "raw" and self.family == socket.AF_INET:
            if len(data) < 20:
                return
            header_len = (data[0] & 0x0F) * 4
            data = data[header_len:]
            if _checksum(data) != 0:
                return
        if len(data) < 8 + NONCE_BYTES:
            return
        kind, _code, _sum, identifier, seq = struct.unpack("!BBHHH", data[:8])
        if kind != self.reply_type or data[8 : 8 + NONCE_BYTES] != self.nonce:
            return
        if self.kind == "raw" and identifier != self.identifier:
            return
        try:
            source = ipaddress.ip_address(source.partition("%")[0]).compressed
        except ValueError:
            return
        entry = self.pending.get((source, seq))
        if entry is None:
            return  # late, duplicate, or not ours
        fut, sent_ns = entry
        if not fut.done():
            fut.set_result((received_ns - sent_ns) / 1e6)


def _check_probe_args(packets: int, interval_s: float, timeout_s: float) -> None:
    if packets < 2:
        raise ValueError(f"a probe sends several packets, at least 2 (got {packets})")
    if not interval_s > 0 or not timeout_s > 0:
        raise ValueError("interval_s and timeout_s must be positive")


def _parse_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(address)
    except ValueError as exc:
        raise ValueError(f"not an IP address: {address!r}") from exc


class Pinger:
    """ICMP sockets (opened on first use, one per family) shared by concurrent probes.

    Use as ``async with Pinger() as pinger: await pinger.probe(...)``.
    """

    def __init__(self, mode: Mode = "auto") -> None:
        self.mode: Mode = mode
        self._channels: dict[int, _Channel] = {}

    async def __aenter__(self) -> Pinger:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def socket_kind(self, version: int = 4) -> SocketKind:
        """Which kind of socket probes of IP ``version`` use (opening it if needed)."""
        return self._channel(version).kind

    def _channel(self, version: int) -> _Channel:
        channel = self._channels.get(version)
        if channel is None:
            family = socket.AF_INET if version == 4 else socket.AF_INET6
            sock, kind = _open_socket(family, self.mode)
            channel = _Channel(sock, kind, family, asyncio.get_running_loop())
            logger.debug("ICMPv%d via a %s socket", version, kind)
            self._channels[version] = channel
        return channel

    def close(self) -> None:
        """Close the sockets; probes still waiting are cancelled."""
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    async def probe(
        self, address: str, packets: int, interval_s: float, timeout_s: float
    ) -> IcmpResult:
        """Send ``packets`` echo requests ``interval_s`` apart, each waited for ``timeout_s``."""
        _check_probe_args(packets, interval_s, timeout_s)
        ip = _parse_address(address)
        channel = self._channel(ip.version)
        rtts = await asyncio.gather(
            *(channel.echo(ip.compressed, i * interval_s, timeout_s) for i in range(packets))
        )
        return IcmpResult.of(address, packets, [r for r in rtts if r is not None])


async def probe(
    address: str, packets: int, interval_s: float, timeout_s: float, *, mode: Mode = "auto"
) -> IcmpResult:
    """Probe one address with ``packets`` (at least 2) echo requests; see :class:`Pinger`."""
    _check_probe_args(packets, interval_s, timeout_s)
    _parse_address(address)
    async with Pinger(mode) as pinger:
        return await pinger.probe(address, packets, interval_s, timeout_s)


async def probe_many(
    addresses: Iterable[str],
    *,
    packets: int = 5,
    interval_s: float = 0.2,
    timeout_s: float = 1.0,
    max_in_flight: int = 128,
    mode: Mode = "auto",
) -> list[IcmpResult]:
    """Probe every address, at most ``max_in_flight`` at a time; results in the input order.

    Every address is checked before the first packet leaves (ValueError names the bad ones).
    """
    targets = list(addresses)
    _check_probe_args(packets, interval_s, timeout_s)
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    bad = []
    for address in targets:
        try:
            _parse_address(address)
        except ValueError:
            bad.append(address)
    if bad:
        raise ValueError(f"not IP addresses: {', '.join(map(repr, bad))}")
    results: list[IcmpResult | None] = [None] * len(targets)
    queue = iter(enumerate(targets))

    async def worker(pinger: Pinger) -> None:
        for index, address in queue:
            results[index] = await pinger.probe(address, packets, interval_s, timeout_s)

    async with Pinger(mode) as pinger:
        for version in sorted({_parse_address(a).version for a in targets}):
            pinger.socket_kind(version)  # IcmpUnavailable here, not inside a task group
        async with asyncio.TaskGroup() as group:
            for _ in range(min(max_in_flight, len(targets))):
                group.create_task(worker(pinger))
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]
