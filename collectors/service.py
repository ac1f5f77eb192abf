"""Assembly of a running collector: SNMP client, pinger, ledger, metrics and the HTTP listener."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collectors.adapters import IcmpAddressProber, SnmpDevicePoller, SnmpServiceLocator
from collectors.icmp import Pinger
from collectors.metrics import register_metrics
from collectors.runner import Collector
from collectors.settings import CollectorSettings
from collectors.snmp.client import FastSnmpClient
from collectors.snmp.credentials import CredentialStore
from collectors.snmp.poller import SnmpPoller
from collectors.snmp.profiles import load_profiles

logger = logging.getLogger(__name__)


@dataclass
class RunningCollector:
    """A started collector and where it listens (port 0 in settings means 'any free')."""

    collector: Collector
    registry: CollectorRegistry
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@asynccontextmanager
async def running_collector(
    engine: Engine,
    settings: CollectorSettings,
    *,
    credentials: CredentialStore,
    listen: bool = True,
    locale: str = "ru",
) -> AsyncIterator[RunningCollector]:
    """Build the collector, start its ledger and (optionally) its HTTP listener; stop on exit."""
    registry = CollectorRegistry()
    async with FastSnmpClient(settings.snmp, credentials) as client, Pinger() as pinger:
        if settings.icmp.enabled:
            # Fail loudly now if ICMP sockets cannot be opened here (not root, no ping group):
            # otherwise every probed channel would look down.
            pinger.socket_kind(4)
        poller = SnmpPoller(client, load_profiles(), credentials)
        collector = Collector(
            engine,
            settings,
            SnmpDevicePoller(poller, settings.snmp.port),
            IcmpAddressProber(pinger, settings.icmp) if settings.icmp.enabled else None,
            locator=SnmpServiceLocator(client, settings.snmp.port),
        )
        register_metrics(registry, collector)
        runner: web.AppRunner | None = None
        host, port = settings.listen_host, settings.listen_port
        if listen:
            from collectors.http import create_app

            app = create_app(
                engine, settings, registry, on_heartbeat=_heartbeat_logger, locale=locale
            )
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
            for address in runner.addresses:  # the bound port, when 0 asked for any
                if isinstance(address, tuple) and len(address) >= 2:
                    port = int(address[1])
                    break
        await collector.start()
        try:
            yield RunningCollector(collector, registry, host, port)
        finally:
            await collector.stop()
            if runner is not None:
                await runner.cleanup()


def _heartbeat_logger(*args: Any) -> None:
    """Heartbeats land in the database; the next cycle turns them into observations."""
    logger.debug("heartbeat %s", args[:3])


async def run_until_signalled(
    body: Callable[[asyncio.Event], Any], *, on_signal: Callable[[], None] | None = None
) -> None:
    """Run ``body(stop)`` until SIGINT/SIGTERM sets ``stop``."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await body(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        if on_signal:
            on_signal()
