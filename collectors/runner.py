"""The collection cycle: poll the CMDB's objects, turn results into observations, feed the ledger.

One cycle: read the targets from the CMDB; poll every device over SNMP and probe every channel
address over ICMP, concurrently and bounded; derive one observation per object (device, channel,
ViPNet node, AWP with an agent); record them in the ledger; then derive the sites from their
channels' debounced states, detect failovers and expire what went silent. How each observation
is derived is in :func:`derive_observations` (pure, no I/O).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine

from cmdb.choices import State
from cmdb.ledger import ChannelRef, Ledger, Observation, Policy, Transition
from cmdb.models import FailoverEvent
from cmdb.types import utcnow
from collectors.settings import CollectorSettings
from collectors.targets import ChannelTarget, DeviceTarget, Targets, load_targets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceResult:
    """What one SNMP poll of a device found."""

    name: str
    reachable: bool
    interfaces: Mapping[str, bool | None] = field(default_factory=dict)
    error: str | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class ProbeResult:
    """What one ICMP probe (several packets) of an address found."""

    address: str
    loss_pct: float
    rtt_avg_ms: float | None = None
    error: str | None = None
    duration_s: float = 0.0


class DevicePoller(Protocol):
    """Polls one device (SNMP adapter)."""

    async def poll(self, device: DeviceTarget) -> DeviceResult: ...


class AddressProber(Protocol):
    """Probes one address (ICMP adapter)."""

    async def probe(self, address: str) -> ProbeResult: ...


class ServiceLocator(Protocol):
    """Names the host answering at the regional service address (its sysName)."""

    async def identify(self, host: str, credential: str) -> str | None: ...


class CycleListener(Protocol):
    """Told about each finished cycle (metrics)."""

    def cycle_finished(self, report: CycleReport) -> None: ...


@dataclass
class CycleReport:
    """What one cycle did, for logs, metrics and ``kontur collect --once``."""

    started_at: dt.datetime
    duration_s: float
    devices: int
    channels: int
    observations: int
    transitions: list[Transition]
    failovers: list[FailoverEvent]
    device_results: list[DeviceResult]
    probe_results: list[ProbeResult]
    errors: dict[str, int]


def channel_state(
    ch: ChannelTarget,
    device: DeviceResult | None,
    probe: ProbeResult | None,
    degraded_loss_pct: float,
) -> State | None:
    """A channel's raw state from its A-end interface and its address probe (None: no data)."""
    oper = None
    if device is not None and device.reachable and ch.interface:
        oper = device.interfaces.get(ch.interface)
    if oper is False:
        return State.DOWN
    if probe is not None and probe.error is None:
        if probe.loss_pct >= 100.0:
            return State.DOWN
        if probe.loss_pct >= degraded_loss_pct:
            return State.DEGRADED
        return State.UP
    if oper is True:
        return State.UP
    return None


def derive_observations(
    targets: Targets,
    devices: Mapping[str, DeviceResult],
    probes: Mapping[str, ProbeResult],
    now: dt.datetime,
    settings: CollectorSettings,
) -> list[Observation]:
    """One observation per object with data this cycle (sites are derived later, from channels)."""
    out: list[Observation] = []
    for name, result in devices.items():
        state = State.UP if result.reachable else State.DOWN
        out.append(Observation("device", name, now, state, {"error": result.error}))
    for ch in targets.channels:
        probe = probes.get(ch.address) if ch.address else None
        channel = channel_state(
            ch, devices.get(ch.device or ""), probe, settings.icmp.degraded_loss_pct
        )
        if channel is not None:
            detail = {"loss_pct": probe.loss_pct, "rtt_ms": probe.rtt_avg_ms} if probe else None
            out.append(Observation("channel", ch.key, now, channel, detail))
    fresh = dt.timedelta(seconds=settings.vipnet_client_offline_s)
    beats = {(h.object_kind, h.object_key): h for h in targets.heartbeats}

    def heartbeat_state(kind: str, key: str) -> State | None:
        beat = beats.get((kind, key))
        if beat is None:
            return None
        age = now - dt.datetime.fromtimestamp(beat.received_at_epoch, dt.UTC)
        if age > fresh or beat.vipnet_service_active is False:
            return State.DOWN
        return State.UP

    for node in targets.nodes:
        node_state: State | None = None
        if node.device and node.device in devices:
            node_state = State.UP if devices[node.device].reachable else State.DOWN
            if node_state is State.UP and heartbeat_state("device", node.device) is State.DOWN:
                node_state = State.DOWN
        elif node.workstation:
            node_state = heartbeat_state("workstation", node.workstation)
        elif node.device:
            node_state = heartbeat_state("device", node.device)
        if node_state is not None:
            out.append(Observation("vipnet_node", node.vipnet_id, now, node_state))
    for beat in targets.heartbeats:
        if beat.object_kind == "workstation":
            ws_state = heartbeat_state("workstation", beat.object_key)
            if ws_state is not None:
                out.append(Observation("workstation", beat.object_key, now, ws_state))
    return out


def site_observations(
    channels: Sequence[ChannelTarget], ledger: Ledger, now: dt.datetime
) -> list[Observation]:
    """A site is up while a primary channel is up, degraded on backup, down with none left."""
    by_site: dict[str, list[ChannelTarget]] = {}
    for ch in channels:
        by_site.setdefault(ch.site, []).append(ch)
    out = []
    for site, members in by_site.items():
        states = {ch.key: ledger.state_of("channel", ch.key) for ch in members}
        working = {State.UP, State.DEGRADED}
        if all(s is State.UNKNOWN for s in states.values()):
            continue
        primaries = [ch for ch in members if ch.role == "primary"]
        backups = [ch for ch in members if ch.role == "backup"]
        if any(states[ch.key] is State.UP for ch in primaries):
            state = State.UP
        elif any(states[ch.key] in working for ch in primaries + backups):
            state = State.DEGRADED
        elif all(s is State.DOWN for s in states.values()):
            state = State.DOWN
        else:
            continue
        out.append(Observation("site", site, now, state))
    return out


class Collector:
    """Runs collection cycles for one vantage point."""

    def __init__(
        self,
        engine: Engine,
        settings: CollectorSettings,
        poller: DevicePoller,
        prober: AddressProber | None,
        *,
        listeners: Iterable[CycleListener] = (),
        clock: Callable[[], dt.datetime] = utcnow,
        locator: ServiceLocator | None = None,
    ) -> None:
        self.locator = locator
        self.engine = engine
        self.settings = settings
        self.poller = poller
        self.prober = prober
        self.listeners = list(listeners)
        self.clock = clock
        gap = dt.timedelta(seconds=settings.interval_s * settings.gap_intervals)
        policies = {
            "channel": Policy(**settings.debounce_channel.model_dump()),
            "device": Policy(**settings.debounce_device.model_dump()),
            "vipnet_node": Policy(**settings.debounce_vipnet_node.model_dump()),
            "site": Policy(**settings.debounce_site.model_dump()),
            "workstation": Policy(**settings.debounce_vipnet_node.model_dump()),
        }
        self.ledger = Ledger(engine, settings.vantage, policies, gap, source=settings.vantage)
        self.targets: Targets | None = None

    async def start(self) -> list[Transition]:
        """Open the ledger (records the gap a previous run left)."""
        return await asyncio.to_thread(self.ledger.start, self.clock())

    async def stop(self) -> list[Transition]:
        """Close the ledger: everything watched becomes unknown from now."""
        return await asyncio.to_thread(self.ledger.stop, self.clock())

    async def cycle(self) -> CycleReport:
        """Poll everything once and feed the ledger."""
        started = self.clock()
        t0 = time.perf_counter()
        targets = await asyncio.to_thread(load_targets, self.engine)
        self.targets = targets
        polled = [d for d in targets.devices if d.host]
        addresses = (
            sorted({ch.address for ch in targets.channels if ch.address}) if self.prober else []
        )
        # SNMP first, ICMP after: RTT and loss are timed by this event loop, and a loop busy
        # decoding thousands of SNMP replies would answer late and report loss that isn't there.
        device_results = await asyncio.gather(*(self._poll(d) for d in polled))
        probe_results = await asyncio.gather(*(self._probe(a) for a in addresses))
        answering = await self._locate_service()
        now = self.clock()
        devices = {r.name: r for r in device_results}
        probes = {r.address: r for r in probe_results}
        observations = derive_observations(targets, devices, probes, now, self.settings)
        transitions, failovers = await asyncio.to_thread(self._record, targets, observations, now)
        if answering is not None:
            site = next((d.site for d in targets.devices if d.name == answering), None)
            if site is not None:
                event = await asyncio.to_thread(
                    self.ledger.detect_dc_switch, site, targets.site_kinds.get(site, ""), now
                )
                if event is not None:
                    failovers.append(event)
        errors: dict[str, int] = {}
        failures = [r.error for r in device_results] + [r.error for r in probe_results]
        for error in failures:
            if error:
                errors[error] = errors.get(error, 0) + 1
        report = CycleReport(
            started_at=started,
            duration_s=time.perf_counter() - t0,
            devices=len(polled),
            channels=len(targets.channels),
            observations=len(observations),
            transitions=transitions,
            failovers=failovers,
            device_results=list(device_results),
            probe_results=list(probe_results),
            errors=errors,
        )
        for listener in self.listeners:
            listener.cycle_finished(report)
        for tr in transitions:
            logger.info("%s %s: %s → %s (%s)", tr.kind, tr.key, tr.previous, tr.state, tr.reason)
        for ev in failovers:
            logger.warning("%s %s: %s (%s)", ev.site_key, ev.redundancy_group, ev.kind, ev.at)
        return report

    def _record(
        self, targets: Targets, observations: list[Observation], now: dt.datetime
    ) -> tuple[list[Transition], list[FailoverEvent]]:
        transitions = self.ledger.record(observations)
        transitions += self.ledger.record(site_observations(targets.channels, self.ledger, now))
        refs = [ChannelRef(ch.key, ch.site, ch.group, ch.role) for ch in targets.channels]
        failovers = self.ledger.detect_failover(refs, now)
        transitions += self.ledger.expire_silent(now)
        self.ledger.cycle_done(now)
        return transitions, failovers

    async def _locate_service(self) -> str | None:
        host, credential = self.settings.dc_service_host, self.settings.dc_service_credential
        if self.locator is None or not host or not credential:
            return None
        try:
            return await self.locator.identify(host, credential)
        except Exception:  # counted as no answer; the cycle goes on
            logger.exception("service address %s: identification failed", host)
            return None

    async def _poll(self, device: DeviceTarget) -> DeviceResult:
        try:
            return await self.poller.poll(device)
        except Exception as exc:  # a poller bug must not stop the cycle; it is counted
            logger.exception("poll of %s failed", device.name)
            return DeviceResult(device.name, False, error=type(exc).__name__)

    async def _probe(self, address: str) -> ProbeResult:
        assert self.prober is not None
        try:
            return await self.prober.probe(address)
        except Exception as exc:  # same: counted, logged, the cycle goes on
            logger.exception("probe of %s failed", address)
            return ProbeResult(address, 100.0, error=type(exc).__name__)

    async def run(self, stop: asyncio.Event) -> None:
        """Cycle every ``interval_s`` until ``stop`` is set, then close the ledger."""
        await self.start()
        try:
            while not stop.is_set():
                begun = time.monotonic()
                await self.cycle()
                delay = max(0.0, self.settings.interval_s - (time.monotonic() - begun))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            await self.stop()
