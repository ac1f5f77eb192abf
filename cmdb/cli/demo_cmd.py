"""``kontur demo``: load the demo region, and the ``make demo`` main job."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from cmdb.cli.context import CliContext, CommandError
from cmdb.i18n import t


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"не число: {text!r}") from exc
    if not 0 < value <= 2:
        raise argparse.ArgumentTypeError("масштаб должен быть в интервале (0, 2]")
    return value


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "demo", help="демонстрационный регион (по паспорту Краснодарского края)"
    )
    actions = parser.add_subparsers(dest="demo_action", metavar="ACTION", required=True)
    load = actions.add_parser("load", help="загрузить демо-регион")
    load.add_argument("--scale", type=_scale, default=1.0, help="масштаб (1.0 — 31 695 АРМ)")
    load.add_argument("--force", action="store_true", help="загрузить, даже если база не пуста")
    load.add_argument("--today", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    load.set_defaults(handler=_load)
    run = actions.add_parser(
        "run", help="главная задача make demo: миграции, демо-регион в пустую базу, сводка"
    )
    run.add_argument("--scale", type=_scale, default=1.0)
    run.add_argument(
        "--logins-file",
        type=Path,
        default=Path("var/demo-logins.json"),
        help="где хранить пароли демо-пользователей (права 0600)",
    )
    run.add_argument("--url", default="http://127.0.0.1:8080/", help="адрес веб-интерфейса")
    run.set_defaults(handler=_run)


def _is_empty(ctx: CliContext) -> bool:
    from cmdb.services import counts

    return not any(counts(ctx.engine()).values())


def _load(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.demo import load
    from cmdb.errors import ImportFailed

    if not args.force and not _is_empty(ctx):
        raise CommandError(t(ctx.locale, "cli.demo_skipped"), 1)
    today = args.today or dt.datetime.now(ctx.settings.zone).date()
    try:
        results = load(
            ctx.engine(),
            scale=args.scale,
            actor=ctx.actor,
            zone=ctx.settings.zone,
            today=today,
            progress=lambda r: ctx.print(
                t(
                    ctx.locale,
                    "cli.imported",
                    file="demo",
                    kind=r.kind,
                    created=r.created,
                    updated=r.updated,
                    unchanged=r.unchanged,
                )
            ),
        )
    except ImportFailed as exc:  # a bug in the generator, shown like any import error
        for error in exc.errors[:20]:
            print(error, file=ctx.err)
        raise CommandError(f"demo: {len(exc.errors)} error(s)", 1) from exc
    total = ", ".join(f"{r.kind} {r.created + r.updated + r.unchanged}" for r in results)
    ctx.print(t(ctx.locale, "cli.demo_loaded", scale=args.scale, counts=total))
    return 0


def _run(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.migrate import upgrade
    from cmdb.summary import build_summary, render_summary

    before, after = upgrade(ctx.engine(require_current=False))
    if before != after:
        ctx.print(t(ctx.locale, "cli.upgraded", before=before or "—", after=after))
    if _is_empty(ctx):
        args.force, args.today = False, None
        _load(args, ctx)
    else:
        ctx.print(t(ctx.locale, "cli.demo_skipped"))
    today = dt.datetime.now(ctx.settings.zone).date()
    ctx.print()
    ctx.print(render_summary(build_summary(ctx.engine(), today), ctx.locale))
    _print_logins(args, ctx)
    return 0


def _print_logins(args: argparse.Namespace, ctx: CliContext) -> None:
    from cmdb.choices import label
    from cmdb.demo_users import ensure_demo_users

    logins = ensure_demo_users(ctx.engine(), args.logins_file, actor=ctx.actor)
    ctx.print()
    if ctx.locale == "en":
        ctx.print(f"Web UI: {args.url}  demo sign-ins (also in {args.logins_file}):")
    else:
        ctx.print(f"Веб-интерфейс: {args.url}  демо-входы (сохранены в {args.logins_file}):")
    for username, role, password in logins:
        ctx.print(f"  {username:<15} {password:<18} {label(role.value, ctx.locale)}")
