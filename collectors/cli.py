"""``kontur collect`` (the collector) and ``kontur lab`` (the demo lab with a live collector)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from cmdb.cli.context import CliContext, CommandError

logger = logging.getLogger(__name__)


def register_collect(sub: Any) -> None:
    parser = sub.add_parser(
        "collect",
        help="опрос объектов CMDB (SNMP, ICMP, агенты) в журнал состояний; /metrics",
        description="Опрашивает устройства, каналы, узлы ViPNet и АРМ с агентами, ведёт журнал "
        "переходов состояний и события переключения на резерв. Настройки: KONTUR_COLLECTOR__*.",
    )
    parser.add_argument("--vantage", help="точка наблюдения (KONTUR_COLLECTOR__VANTAGE)")
    parser.add_argument("--interval", type=float, help="период опроса, с")
    parser.add_argument("--credentials", help="файл профилей учётных данных SNMP (YAML)")
    parser.add_argument(
        "--cycles", type=int, default=0, help="выполнить N циклов и выйти (0 — работать постоянно)"
    )
    parser.add_argument("--no-listen", action="store_true", help="не открывать HTTP (/metrics)")
    parser.set_defaults(handler=_collect)


def register_lab(sub: Any) -> None:
    parser = sub.add_parser(
        "lab", help="демо-лаборатория: имитация сети демо-региона на loopback и живой опрос"
    )
    actions = parser.add_subparsers(dest="lab_action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="запустить имитацию, агентов и коллектор (до Ctrl-C)")
    run.add_argument("--directory", default="var/lab", help="каталог лаборатории")
    run.add_argument("--interval", type=float, default=20.0, help="период опроса, с")
    run.add_argument("--outage", type=float, default=120.0, help="длительность отказа канала, с")
    run.add_argument("--round", type=float, default=300.0, help="период отказов, с")
    run.add_argument("--sites", type=int, default=3, help="площадок без основного канала за раз")
    run.add_argument("--agents", type=int, default=3, help="сколько агентов АРМ запустить")
    run.add_argument("--duration", type=float, default=0, help="остановиться через N с (0 — нет)")
    run.add_argument(
        "--no-prometheus",
        dest="prometheus",
        action="store_false",
        help="не запускать Prometheus (по умолчанию запускается, если установлен)",
    )
    run.add_argument(
        "--alert-threshold",
        type=float,
        default=60.0,
        help="порог оповещений лаборатории о канале/площадке, с (по умолчанию 60)",
    )
    run.set_defaults(handler=_lab_run)


def _settings(args: argparse.Namespace) -> Any:
    from pathlib import Path

    from pydantic import ValidationError

    from collectors.settings import CollectorSettings

    try:
        settings = CollectorSettings()
        updates: dict[str, Any] = {}
        if args.vantage:
            updates["vantage"] = args.vantage
        if getattr(args, "interval", None):
            updates["interval_s"] = args.interval
        if updates:
            settings = CollectorSettings.model_validate({**settings.model_dump(), **updates})
        if getattr(args, "credentials", None):
            snmp = settings.snmp.model_copy(update={"credentials_file": Path(args.credentials)})
            settings = settings.model_copy(update={"snmp": snmp})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise CommandError(f"ошибка настроек коллектора: {problems}", 2) from exc
    return settings


def _collect(args: argparse.Namespace, ctx: CliContext) -> int:
    import asyncio

    from collectors.snmp.credentials import CredentialStore
    from collectors.snmp.errors import SnmpConfigError

    if args.cycles < 0:
        raise CommandError("--cycles < 0", 2)
    settings = _settings(args)
    try:
        credentials = CredentialStore.from_settings(settings.snmp)
    except SnmpConfigError as exc:
        raise CommandError(f"SNMP: {exc}", 2) from exc
    engine = ctx.engine()
    return asyncio.run(_collect_async(engine, settings, credentials, args, ctx))


async def _collect_async(engine: Any, settings: Any, credentials: Any, args: Any, ctx: Any) -> int:
    from collectors.service import run_until_signalled, running_collector

    async with running_collector(
        engine, settings, credentials=credentials, listen=not args.no_listen, locale=ctx.locale
    ) as running:
        if not args.no_listen:
            ctx.print(f"коллектор {settings.vantage}: {running.url}/metrics")

        async def body(stop: Any) -> None:
            import asyncio
            import time

            done = 0
            while not stop.is_set():
                begun = time.monotonic()
                report = await running.collector.cycle()
                done += 1
                ctx.print(_cycle_line(report, ctx.locale))
                if args.cycles and done >= args.cycles:
                    return
                delay = max(0.0, settings.interval_s - (time.monotonic() - begun))
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                except TimeoutError:
                    continue

        await run_until_signalled(body)
        ctx.print(_states_line(running.collector, ctx.locale))
    return 0


def _cycle_line(report: Any, locale: str) -> str:
    from cmdb.i18n import fmt_datetime

    reachable = sum(1 for d in report.device_results if d.reachable)
    when = fmt_datetime(report.started_at, _zone(), locale)
    line = (
        f"{when}: устройств {reachable}/{report.devices} отвечают, каналов {report.channels}, "
        f"переходов {len(report.transitions)}, переключений {len(report.failovers)}, "
        f"{report.duration_s:.1f} с"
    )
    for ev in report.failovers:
        what = "на резерве" if ev.kind == "on_backup" else "вернулся на основной канал"
        line += f"\n  {ev.site_key}: {what} ({ev.active_channel})"
    return line


def _states_line(collector: Any, locale: str) -> str:
    counts: dict[tuple[str, str], int] = {}
    for (kind, _key), tracked in collector.ledger.tracked.items():
        counts[(kind, tracked.state.value)] = counts.get((kind, tracked.state.value), 0) + 1
    parts = [f"{kind}/{state}: {n}" for (kind, state), n in sorted(counts.items())]
    return "состояния: " + ", ".join(parts)


def _zone() -> Any:
    from cmdb.settings import load_settings

    return load_settings().zone


def _lab_run(args: argparse.Namespace, ctx: CliContext) -> int:
    from collectors.labrun import run_lab

    if args.interval <= 0 or args.outage <= 0 or args.round <= args.outage or args.sites < 1:
        raise CommandError(
            "нужно: --interval > 0, --outage > 0, --round > --outage, --sites ≥ 1", 2
        )
    settings = _settings(argparse.Namespace(vantage=None, interval=args.interval, credentials=None))
    return run_lab(ctx.engine(), settings, args, ctx)
