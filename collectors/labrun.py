"""``kontur lab run``: the demo lab, a few agents and a live collector, until Ctrl-C.

Starts snmpsimd as every demo router and coordinator, writes the lab's own SNMP credentials
(a random community, file mode 0600, never in the repository), issues agent tokens for a few
FAP workstations and runs ``kontur-agent`` processes for them, then runs collection cycles while
:class:`~collectors.lab.FailurePlan` cuts and restores primary channels. Everything it started
is stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmdb.cli.context import CliContext, CommandError
from cmdb.models import Device, Site, Workstation
from collectors.lab import FailurePlan, Lab, LabError, lab_inventory
from collectors.settings import CollectorSettings


def _credentials_file(engine: Engine, lab: Lab) -> Path:
    with Session(engine) as session:
        profiles = sorted({p for p in session.scalars(select(Device.snmp_profile)) if p})
    path = lab.directory / "credentials.yml"
    document = {
        "profiles": {name: {"version": "v2c", "community": lab.community} for name in profiles}
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    path.chmod(0o600)
    return path


def _agent_targets(engine: Engine, count: int) -> list[str]:
    """FAP workstations with a ViPNet client node: the lab's agents speak for them."""
    with Session(engine) as session:
        return list(
            session.scalars(
                select(Workstation.hostname)
                .join(Site, Site.id == Workstation.site_id)
                .where(Site.kind.in_(("fap", "fp")), Workstation.vipnet_node_id.is_not(None))
                .order_by(Workstation.hostname)
                .limit(count)
            )
        )


def _issue_token(engine: Engine, hostname: str, actor: str) -> str:
    from cmdb.agent_tokens import create_token, list_tokens, revoke_token

    name = f"lab-{hostname}"[:64]
    for info in list_tokens(engine):
        if info.name == name and not info.revoked:
            revoke_token(engine, name, actor=actor, source="lab")
    existing = {info.name for info in list_tokens(engine)}
    if name in existing:  # a revoked token keeps its name: issue under a fresh one
        name = f"{name[:55]}-{int(time.time()) % 100000}"
    _info, token = create_token(
        engine, name, object_kind="workstation", object_key=hostname, actor=actor, source="lab"
    )
    return token


def _icmp_available() -> bool:
    from collectors.icmp import IcmpUnavailable, ping_group_allows

    if os.geteuid() == 0 or ping_group_allows():
        return True
    try:
        import socket

        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP).close()
    except (OSError, IcmpUnavailable):
        return False
    return True


def _start_agents(
    engine: Engine, url: str, count: int, actor: str
) -> list[subprocess.Popen[bytes]]:
    agents = []
    for hostname in _agent_targets(engine, count):
        token = _issue_token(engine, hostname, actor)
        env = {**os.environ, "KONTUR_AGENT_TOKEN": token}
        agents.append(
            subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "collectors.agent",
                    "--url",
                    url,
                    "--hostname",
                    hostname,
                    "--interval",
                    "30",
                    "--vipnet-unit",
                    "",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return agents


def _stop_agents(agents: list[subprocess.Popen[bytes]]) -> None:
    for agent in agents:
        agent.terminate()
    for agent in agents:
        try:
            agent.wait(timeout=10)
        except subprocess.TimeoutExpired:
            agent.kill()


def run_lab(engine: Engine, settings: CollectorSettings, args: Any, ctx: CliContext) -> int:
    """Run the lab until SIGINT/SIGTERM or ``args.duration`` seconds; stop all it started."""
    from collectors.snmp.credentials import load_credentials

    devices, channels = lab_inventory(engine)
    if not devices:
        raise CommandError("в CMDB нет устройств для имитации: выполните `kontur demo load`", 1)
    directory = Path(args.directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    port = 161 if os.geteuid() == 0 else 16161
    lab = Lab(directory, port=port)
    lab.build(devices)
    ctx.print(f"лаборатория: {len(devices)} устройств на 127.23.0.0/16, порт {port}…")
    try:
        lab.start()
    except LabError as exc:
        lab.stop()
        raise CommandError(f"лаборатория не запущена: {exc}", 1) from exc
    try:
        creds_path = _credentials_file(engine, lab)
        snmp = settings.snmp.model_copy(update={"credentials_file": creds_path, "port": port})
        settings = settings.model_copy(update={"snmp": snmp, "listen_port": 0})
        if not _icmp_available():
            ctx.print("ICMP недоступен (нужны root или net.ipv4.ping_group_range): только SNMP")
            settings = settings.model_copy(
                update={"icmp": settings.icmp.model_copy(update={"enabled": False})}
            )
        plan = FailurePlan(
            channels, sites_per_round=args.sites, outage_s=args.outage, round_s=args.round
        )
        asyncio.run(_live(engine, settings, load_credentials(creds_path), plan, lab, args, ctx))
    finally:
        lab.stop()
        ctx.print("лаборатория остановлена")
    return 0


async def _live(  # noqa: PLR0917 - one call site, all collaborators of one run
    engine: Engine,
    settings: CollectorSettings,
    credentials: Any,
    plan: FailurePlan,
    lab: Lab,
    args: Any,
    ctx: CliContext,
) -> None:
    from collectors.cli import _cycle_line
    from collectors.service import run_until_signalled, running_collector

    async with running_collector(
        engine, settings, credentials=credentials, locale=ctx.locale
    ) as running:
        ctx.print(f"коллектор: {running.url}/metrics (интервал {settings.interval_s:.0f} с)")
        agents = await asyncio.to_thread(_start_agents, engine, running.url, args.agents, ctx.actor)
        ctx.print(f"агенты АРМ: {len(agents)}; Ctrl-C — остановить всё")
        started = time.monotonic()

        async def body(stop: asyncio.Event) -> None:
            while not stop.is_set():
                begun = time.monotonic()
                cut, restored = await asyncio.to_thread(plan.apply, lab, begun)
                for ch in cut:
                    ctx.print(f"  лаборатория: отключён основной канал {ch.key} ({ch.site})")
                for ch in restored:
                    ctx.print(f"  лаборатория: восстановлен канал {ch.key} ({ch.site})")
                report = await running.collector.cycle()
                ctx.print(_cycle_line(report, ctx.locale))
                if args.duration and time.monotonic() - started >= args.duration:
                    return
                delay = max(0.0, settings.interval_s - (time.monotonic() - begun))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

        try:
            await run_until_signalled(body)
        finally:
            await asyncio.to_thread(_stop_agents, agents)
