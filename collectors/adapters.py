"""Adapters from the SNMP poller and the ICMP pinger to the runner's poll/probe protocols."""

from __future__ import annotations

import asyncio
import time

from collectors.icmp import IcmpError, Pinger
from collectors.runner import DeviceResult, ProbeResult
from collectors.settings import IcmpSettings
from collectors.snmp.client import FastSnmpClient
from collectors.snmp.errors import SnmpError, error_kind
from collectors.snmp.poller import DeviceRef, SnmpPoller
from collectors.snmp.types import OctetString, SnmpTarget
from collectors.targets import DeviceTarget

SYS_NAME = "1.3.6.1.2.1.1.5.0"


class SnmpDevicePoller:
    """Polls a CMDB device with :class:`SnmpPoller` (fast v2c path, pysnmp for v3)."""

    def __init__(self, poller: SnmpPoller, port: int = 161) -> None:
        self.poller = poller
        self.port = port

    async def poll(self, device: DeviceTarget) -> DeviceResult:
        start = time.perf_counter()
        ref = DeviceRef(
            name=device.name,
            host=device.host,
            port=self.port,
            platform=device.platform,
            credential=device.credential,
        )
        try:
            result = await self.poller.poll(ref, device.interfaces)
        except SnmpError as exc:  # configuration problems: no credential profile, no plan
            return DeviceResult(
                device.name, False, error=error_kind(exc),
                duration_s=time.perf_counter() - start,
            )  # fmt: skip
        return DeviceResult(
            name=device.name,
            reachable=result.reachable,
            interfaces={name: st.oper_up for name, st in result.interfaces.items()},
            error=result.error_kind if result.error else None,
            duration_s=time.perf_counter() - start,
        )


class IcmpAddressProber:
    """Probes channel addresses with several ICMP echo requests each, bounded in number."""

    def __init__(self, pinger: Pinger, settings: IcmpSettings) -> None:
        self.pinger = pinger
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.max_in_flight)

    async def probe(self, address: str) -> ProbeResult:
        s = self.settings
        start = time.perf_counter()
        async with self._slots:
            try:
                result = await self.pinger.probe(address, s.packets, s.interval_s, s.timeout_s)
            except (IcmpError, OSError, ValueError) as exc:
                return ProbeResult(
                    address, 100.0, error=type(exc).__name__,
                    duration_s=time.perf_counter() - start,
                )  # fmt: skip
        return ProbeResult(
            address, result.loss_pct, result.rtt_avg_ms, duration_s=time.perf_counter() - start
        )


class SnmpServiceLocator:
    """Reads sysName at the service address: the host answering there is a CMDB device."""

    def __init__(self, client: FastSnmpClient, port: int = 161) -> None:
        self.client = client
        self.port = port

    async def identify(self, host: str, credential: str) -> str | None:
        result = await self.client.get(SnmpTarget(host, self.port, credential), [SYS_NAME])
        value = result.values.get(SYS_NAME)
        if not result.ok or not isinstance(value, OctetString):
            return None
        return value.text().strip() or None
