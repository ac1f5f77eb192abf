"""SnmpPoller: one device's poll plan turned into GETs, answered as a typed DevicePoll.

For each device the poller picks the platform's :class:`~collectors.snmp.profiles.PollPlan`, maps
the requested interface names to ifIndex (walking ifName, then ifDescr for names not found; cached
per device for ``index_ttl_s`` and dropped early when sysUpTime goes backwards, i.e. the device
rebooted and may have renumbered), finds per-CPU table instances the same way, then GETs
everything in chunks. v2c devices go through the client's fast path, v3 devices through pysnmp;
the credential profile decides. Interfaces without 64-bit counters fall back to the 32-bit ones
(remembered per device). Network trouble is reported in the DevicePoll; configuration mistakes
(unknown platform or credential profile) raise :class:`SnmpConfigError`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from collectors.snmp.client import FastSnmpClient
from collectors.snmp.credentials import CredentialStore
from collectors.snmp.errors import ErrorKind, SnmpError, SnmpTimeout, error_kind
from collectors.snmp.profiles import (
    SYS_UPTIME,
    CpuSpec,
    InterfaceOids,
    MemorySpec,
    PollPlan,
    PollProfiles,
)
from collectors.snmp.types import (
    Counter32,
    Counter64,
    Integer,
    NoSuchInstance,
    NoSuchObject,
    OctetString,
    SnmpResult,
    SnmpTarget,
    SnmpValue,
    TimeTicks,
    as_number,
)

logger = logging.getLogger(__name__)

#: OIDs per GET: small enough for any agent's message size, big enough for few round trips.
MAX_OIDS_PER_GET: Final = 32
_IF_OPER_UP: Final = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRef:
    """A device to poll, as the CMDB knows it."""

    name: str
    host: str
    port: int = 161
    platform: str
    credential: str


@dataclass(frozen=True, slots=True)
class InterfaceState:
    """One interface's state; ``None`` where the agent gave no usable value."""

    if_index: int | None
    oper_up: bool | None
    in_octets: int | None
    out_octets: int | None
    #: 64 for ifHC* counters, 32 for the ifIn/OutOctets fallback (they wrap sooner).
    counter_bits: Literal[32, 64] | None = None


@dataclass(frozen=True, slots=True)
class DevicePoll:
    """The outcome of polling one device once.

    ``reachable`` means the agent answered SNMP at all (an authentication failure is an answer);
    ``error`` is the first problem met, if any, even when some values did arrive, and
    ``error_kind`` its category (timeout, auth, decode, protocol, config, other) for metrics.
    """

    device: str
    reachable: bool
    error: str | None
    sys_uptime_s: float | None = None
    interfaces: Mapping[str, InterfaceState] = field(default_factory=dict)
    cpu_pct: float | None = None
    mem_used_pct: float | None = None
    extra: Mapping[str, SnmpValue] = field(default_factory=dict)
    rtt_s: float | None = None
    snmp_version: Literal["v2c", "v3"] = "v2c"
    #: Requested interface names the agent does not have (neither as ifName nor as ifDescr).
    unknown_interfaces: tuple[str, ...] = ()
    error_kind: ErrorKind | None = None


@dataclass(slots=True)
class _DeviceIndex:
    """What a device's walks taught us, valid until ``expires_at``."""

    expires_at: float
    if_index: dict[str, int] = field(default_factory=dict)
    walked_names: bool = False
    walked_descr: bool = False
    cpu_instances: tuple[str, ...] | None = None
    no_hc: set[int] = field(default_factory=set)
    last_uptime_s: float | None = None


class SnmpPoller:
    """Polls devices by their platform's plan through a :class:`FastSnmpClient`."""

    def __init__(
        self,
        client: FastSnmpClient,
        profiles: PollProfiles,
        credentials: CredentialStore,
        *,
        index_ttl_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._profiles = profiles
        self._credentials = credentials
        self._ttl = index_ttl_s
        self._clock = clock
        self._index: dict[tuple[str, str, int], _DeviceIndex] = {}
        #: Walks made to learn ifIndex maps and CPU instances (a metric: should stay low).
        self.discovery_walks = 0

    def forget(self, device: DeviceRef) -> None:
        """Drop what was learnt about ``device`` (ifIndex map, CPU instances)."""
        self._index.pop((device.name, device.host, device.port), None)

    async def poll(self, device: DeviceRef, interfaces: Sequence[str] = ()) -> DevicePoll:
        """Poll ``device`` once: uptime, the named interfaces, CPU, memory and extras."""
        plan = self._profiles.plan(device.platform)
        credential = self._credentials[device.credential]
        version = credential.version
        target = SnmpTarget(device.host, device.port, device.credential)
        names = tuple(dict.fromkeys(interfaces))

        index, problem = await self._learn(device, target, plan, names)
        if problem is not None:
            return DevicePoll(
                device.name,
                reachable=not isinstance(problem, SnmpTimeout),
                error=str(problem),
                snmp_version=version,
                error_kind=error_kind(problem),
            )
        cols = plan.interfaces
        mapped = {n: index.if_index[n] for n in names if n in index.if_index}
        oids = list(plan.scalar_oids())
        cpu_oids = self._cpu_oids(plan.cpu, index)
        oids.extend(cpu_oids)
        for idx in mapped.values():
            oids.append(f"{cols.oper_status}.{idx}")
            if idx in index.no_hc:
                oids += [f"{cols.in_octets}.{idx}", f"{cols.out_octets}.{idx}"]
            else:
                oids += [f"{cols.in_octets_hc}.{idx}", f"{cols.out_octets_hc}.{idx}"]
        values, error, rtt, answered = await self._get_all(target, list(dict.fromkeys(oids)))
        if not answered:
            return DevicePoll(
                device.name,
                reachable=not isinstance(error, SnmpTimeout),
                error=str(error),
                snmp_version=version,
                error_kind=error_kind(error) if error else "other",
            )

        fallback = [
            idx
            for idx in mapped.values()
            if idx not in index.no_hc
            and isinstance(values.get(f"{cols.in_octets_hc}.{idx}"), NoSuchObject | NoSuchInstance)
        ]
        if fallback:
            index.no_hc.update(fallback)
            low = [f"{c}.{i}" for i in fallback for c in (cols.in_octets, cols.out_octets)]
            more, more_error, _, _ = await self._get_all(target, low)
            values.update(more)
            error = error or more_error

        uptime = values.get(SYS_UPTIME)
        uptime_s = uptime.seconds if isinstance(uptime, TimeTicks) else None
        if uptime_s is not None:
            if index.last_uptime_s is not None and uptime_s < index.last_uptime_s:
                logger.info(
                    "%s: sysUpTime went backwards (reboot); relearning ifIndex", device.name
                )
                index.expires_at = 0.0
            index.last_uptime_s = uptime_s

        states = {
            name: _interface(mapped.get(name), values, plan.interfaces, index.no_hc)
            for name in names
        }
        return DevicePoll(
            device=device.name,
            reachable=True,
            error=str(error) if error else None,
            sys_uptime_s=uptime_s,
            interfaces=states,
            cpu_pct=_cpu(plan.cpu, values, cpu_oids),
            mem_used_pct=_memory(plan.memory, values),
            extra={name: values[oid] for name, oid in plan.extra.items() if oid in values},
            rtt_s=rtt,
            snmp_version=version,
            unknown_interfaces=tuple(n for n in names if n not in mapped),
            error_kind=error_kind(error) if error else None,
        )

    # -- discovery -----------------------------------------------------------------------------

    async def _learn(
        self, device: DeviceRef, target: SnmpTarget, plan: PollPlan, names: tuple[str, ...]
    ) -> tuple[_DeviceIndex, SnmpError | None]:
        key = (device.name, device.host, device.port)
        now = self._clock()
        index = self._index.get(key)
        if index is None or index.expires_at <= now:
            keep_uptime = index.last_uptime_s if index is not None else None
            index = _DeviceIndex(expires_at=now + self._ttl, last_uptime_s=keep_uptime)
        cols = plan.interfaces
        if names and not index.walked_names:
            self.discovery_walks += 1
            result = await self._client.walk(target, cols.if_name)
            if isinstance(result.error, SnmpTimeout) and not result.values:
                return index, result.error
            index.if_index = _names(result, cols.if_name)
            index.walked_names = result.error is None  # a partial walk is retried next time
            index.walked_descr = False
        if names and not index.walked_descr and any(n not in index.if_index for n in names):
            self.discovery_walks += 1
            result = await self._client.walk(target, cols.if_descr)
            if result.error is not None and not result.values:
                return index, result.error
            for name, idx in _names(result, cols.if_descr).items():
                index.if_index.setdefault(name, idx)
            index.walked_descr = result.error is None
        if plan.cpu is not None and plan.cpu.table is not None and index.cpu_instances is None:
            self.discovery_walks += 1
            result = await self._client.walk(target, plan.cpu.table)
            if result.error is not None and not result.values:
                if isinstance(result.error, SnmpTimeout):
                    return index, result.error
            else:
                index.cpu_instances = tuple(result.values)
        self._index[key] = index
        return index, None

    @staticmethod
    def _cpu_oids(cpu: CpuSpec | None, index: _DeviceIndex) -> tuple[str, ...]:
        if cpu is None:
            return ()
        if cpu.oid is not None:
            return (cpu.oid,)
        return index.cpu_instances or ()

    async def _get_all(
        self, target: SnmpTarget, oids: list[str]
    ) -> tuple[dict[str, SnmpValue], SnmpError | None, float | None, bool]:
        """GET ``oids`` in chunks: values, the first error, the best RTT, whether any chunk came."""
        chunks = [oids[i : i + MAX_OIDS_PER_GET] for i in range(0, len(oids), MAX_OIDS_PER_GET)]
        if len(chunks) == 1:
            results = [await self._client.get(target, tuple(chunks[0]))]
        else:
            results = list(
                await asyncio.gather(*(self._client.get(target, tuple(c)) for c in chunks))
            )
        values: dict[str, SnmpValue] = {}
        error: SnmpError | None = None
        for result in results:
            values.update(result.values)
            if error is None and result.error is not None:
                error = result.error
        rtts = [r.rtt_s for r in results if r.rtt_s is not None and r.error is None]
        answered = any(r.error is None for r in results)
        return values, error, (min(rtts) if rtts else None), answered


def _names(result: SnmpResult, column: str) -> dict[str, int]:
    prefix = column + "."
    names: dict[str, int] = {}
    for oid, value in result.values.items():
        suffix = oid[len(prefix) :] if oid.startswith(prefix) else ""
        if suffix.isdigit() and isinstance(value, OctetString):
            names.setdefault(value.text(), int(suffix))
    return names


def _interface(
    idx: int | None, values: Mapping[str, SnmpValue], cols: InterfaceOids, no_hc: set[int]
) -> InterfaceState:
    if idx is None:
        return InterfaceState(None, None, None, None)
    oper = values.get(f"{cols.oper_status}.{idx}")
    oper_up = oper.value == _IF_OPER_UP if isinstance(oper, Integer) else None
    if idx not in no_hc:
        hc_in = values.get(f"{cols.in_octets_hc}.{idx}")
        hc_out = values.get(f"{cols.out_octets_hc}.{idx}")
        return InterfaceState(
            idx,
            oper_up,
            hc_in.value if isinstance(hc_in, Counter64) else None,
            hc_out.value if isinstance(hc_out, Counter64) else None,
            64,
        )
    low_in = values.get(f"{cols.in_octets}.{idx}")
    low_out = values.get(f"{cols.out_octets}.{idx}")
    return InterfaceState(
        idx,
        oper_up,
        low_in.value if isinstance(low_in, Counter32) else None,
        low_out.value if isinstance(low_out, Counter32) else None,
        32,
    )


def _cpu(cpu: CpuSpec | None, values: Mapping[str, SnmpValue], oids: Sequence[str]) -> float | None:
    if cpu is None:
        return None
    numbers = [n for n in (as_number(values.get(o)) for o in oids) if n is not None]
    if not numbers:
        return None
    load = max(numbers) if cpu.aggregate == "max" else sum(numbers) / len(numbers)
    return 100.0 - load if cpu.meaning == "idle" else load


def _memory(memory: MemorySpec | None, values: Mapping[str, SnmpValue]) -> float | None:
    if memory is None:
        return None

    def num(oid: str | None) -> float | None:
        return None if oid is None else as_number(values.get(oid))

    if memory.used_pct is not None:
        return num(memory.used_pct)
    total, available, used, free = (
        num(memory.total),
        num(memory.available),
        num(memory.used),
        num(memory.free),
    )
    if total is not None and available is not None and total > 0:
        return 100.0 * (total - available) / total
    if total is not None and used is not None and total > 0:
        return 100.0 * used / total
    if used is not None and free is not None and used + free > 0:
        return 100.0 * used / (used + free)
    return None
