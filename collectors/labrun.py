"""``kontur lab run``: the demo lab, a few agents and a live collector, until Ctrl-C.

Starts snmpsimd as every demo router and coordinator, writes the lab's own SNMP credentials
(a random community, file mode 0600, never in the repository), issues agent tokens for a few
FAP workstations and runs ``kontur-agent`` processes for them, then runs collection cycles while
:class:`~collectors.lab.FailurePlan` cuts and restores primary channels. When Debian's
``prometheus`` is installed it also starts a Prometheus on loopback (:func:`start_prometheus`)
that scrapes the lab's collector every 10 s and evaluates the rules of
``dashboards/prometheus/rules`` with the thresholds capped for the lab's short outages
(:func:`capped_thresholds`), so its alerts fire while a channel is cut. Everything it started is
stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmdb.cli.context import CliContext, CommandError
from cmdb.models import Device, Site, Workstation
from collectors.lab import FailurePlan, Lab, LabError, lab_inventory
from collectors.settings import CollectorSettings

#: The rule files of dashboards/ (present in a source checkout, which is what `make demo` runs).
RULES_DIR = Path(__file__).resolve().parents[1] / "dashboards" / "prometheus" / "rules"
THRESHOLDS_FILE = "kontur-thresholds.yml"
#: The job name the alert rules select.
COLLECTOR_JOB = "kontur-collector"
#: Thresholds the lab leaves alone: the 6-minute ViPNet rule comes from the source documents.
UNCAPPED = ("vipnet_node_offline",)
_VECTOR = re.compile(r"^\s*vector\(\s*([0-9.]+)\s*\)\s*$")


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


# --- Prometheus on loopback ---------------------------------------------------------------------


def prometheus_binary() -> str | None:
    """Debian's Prometheus server, if installed."""
    found = shutil.which("prometheus")
    if found is None and Path("/usr/bin/prometheus").exists():
        found = "/usr/bin/prometheus"
    return found


def capped_thresholds(rules_dir: Path, cap_s: float) -> dict[str, Any]:
    """The thresholds rule file with every duration capped at ``cap_s`` (except :data:`UNCAPPED`).

    The alert rules stay as they are: only the threshold series change (docs/dashboards.md).
    """
    document: dict[str, Any] = yaml.safe_load((rules_dir / THRESHOLDS_FILE).read_text("utf-8"))
    for group in document["groups"]:
        for rule in group["rules"]:
            name = str(rule.get("record", ""))
            found = _VECTOR.match(str(rule.get("expr", "")))
            if not name.startswith("kontur:threshold:") or found is None:
                continue
            if any(keep in name for keep in UNCAPPED):
                continue
            rule["expr"] = f"vector({min(float(found.group(1)), cap_s):g})"
    return document


def _duration(seconds: float) -> str:
    """A Prometheus duration (whole units only: 2.5 s is written 2500ms)."""
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def prometheus_config(
    collector: str,
    rule_files: list[Path],
    *,
    scrape_interval_s: float,
    evaluation_interval_s: float,
) -> dict[str, Any]:
    """A Prometheus configuration scraping one collector (``host:port``) as Kontur's job."""
    return {
        "global": {
            "scrape_interval": _duration(scrape_interval_s),
            "scrape_timeout": _duration(scrape_interval_s),
            "evaluation_interval": _duration(evaluation_interval_s),
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": COLLECTOR_JOB, "static_configs": [{"targets": [collector]}]},
        ],
    }


def _free_port(host: str, preferred: int | None) -> int:
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise LabError(f"нет свободного порта на {host}")


@dataclass
class PrometheusServer:
    """A Prometheus we started: its URL and process (stopped by pid)."""

    process: subprocess.Popen[bytes]
    url: str
    directory: Path

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited in ``timeout_s``."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout_s)


def start_prometheus(
    directory: Path,
    config: dict[str, Any],
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    binary: str | None = None,
    retention: str = "7d",
    timeout_s: float = 60.0,
) -> PrometheusServer:
    """Write ``config`` to ``directory`` and start Prometheus on ``host`` (``port`` if free, else
    any); returns once it reports ready. Its data and log stay in ``directory``."""
    binary = binary or prometheus_binary()
    if binary is None:
        raise LabError("prometheus не найден: apt-get install prometheus")
    directory.mkdir(parents=True, exist_ok=True)
    config_file = directory / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    bound = _free_port(host, port)
    url = f"http://{host}:{bound}"
    log = directory / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own argument list
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--storage.tsdb.retention.time={retention}",
                f"--web.listen-address={host}:{bound}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = PrometheusServer(process, url, directory)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise LabError(f"prometheus завершился с кодом {process.returncode}: {tail}")
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    server.stop()
    raise LabError(f"prometheus не ответил за {timeout_s:.0f} с")


def _lab_prometheus(
    lab_directory: str, collector_url: str, interval_s: float, cap_s: float
) -> PrometheusServer:
    """The lab's Prometheus (next to the lab's directory: var/prometheus for var/lab): the real
    rules, thresholds capped for the lab's outages."""
    directory = Path(lab_directory).resolve().parent / "prometheus"
    if not (RULES_DIR / THRESHOLDS_FILE).exists():
        raise LabError(f"нет правил {RULES_DIR} (нужна рабочая копия репозитория)")
    directory.mkdir(parents=True, exist_ok=True)
    thresholds = directory / THRESHOLDS_FILE
    thresholds.write_text(
        "# Generated by `kontur lab run`: the thresholds of dashboards/prometheus/rules capped "
        f"at {cap_s:g} s.\n" + yaml.safe_dump(capped_thresholds(RULES_DIR, cap_s)),
        encoding="utf-8",
    )
    rules = [thresholds] + [p for p in sorted(RULES_DIR.glob("*.yml")) if p.name != THRESHOLDS_FILE]
    target = collector_url.removeprefix("http://")
    scrape = max(1.0, min(10.0, interval_s / 2))
    config = prometheus_config(
        target, rules, scrape_interval_s=scrape, evaluation_interval_s=scrape
    )
    return start_prometheus(directory, config, port=9090)


def run_lab(engine: Engine, settings: CollectorSettings, args: Any, ctx: CliContext) -> int:
    """Run the lab until SIGINT/SIGTERM or ``args.duration`` seconds; stop all it started."""
    from collectors.snmp.credentials import load_credentials

    devices, channels = lab_inventory(engine)
    if not devices:
        raise CommandError("в CMDB нет устройств для имитации: выполните `kontur demo load`", 1)
    directory = Path(args.directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    port = getattr(args, "snmp_port", None) or (161 if os.geteuid() == 0 else 16161)
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
    from collectors.service import running_collector

    async with running_collector(
        engine, settings, credentials=credentials, locale=ctx.locale
    ) as running:
        ctx.print(f"коллектор: {running.url}/metrics (интервал {settings.interval_s:.0f} с)")
        prometheus = await _maybe_prometheus(running.url, settings.interval_s, args, ctx)
        try:
            await _cycles(running, engine, settings, plan, lab, args, ctx)
        finally:
            if prometheus is not None:
                await asyncio.to_thread(prometheus.stop)
                ctx.print("Prometheus остановлен")


async def _cycles(  # noqa: PLR0917 - one call site, all collaborators of one run
    running: Any,
    engine: Engine,
    settings: CollectorSettings,
    plan: FailurePlan,
    lab: Lab,
    args: Any,
    ctx: CliContext,
) -> None:
    """Agents up, then cycles (cutting and restoring channels) until a signal or the duration."""
    from collectors.cli import _cycle_line
    from collectors.service import run_until_signalled

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


async def _maybe_prometheus(
    collector_url: str, interval_s: float, args: Any, ctx: CliContext
) -> PrometheusServer | None:
    """Start the lab's Prometheus when installed and wanted; a failure only costs the graphs."""
    if not getattr(args, "prometheus", True):
        return None
    if prometheus_binary() is None:
        ctx.print("Prometheus не установлен (apt-get install prometheus): без графиков и тревог")
        return None
    cap_s = float(getattr(args, "alert_threshold", 0) or 60.0)
    try:
        server = await asyncio.to_thread(
            _lab_prometheus, args.directory, collector_url, interval_s, cap_s
        )
    except (LabError, OSError) as exc:
        ctx.print(f"Prometheus не запущен: {exc}")
        return None
    ctx.print(
        f"Prometheus: {server.url} (тревоги: {server.url}/alerts; правила "
        f"dashboards/prometheus/rules, пороги лаборатории ≤ {cap_s:g} с)"
    )
    return server
