"""``kontur list``, ``show``, ``delete``, ``summary`` and ``audit``: looking at the CMDB."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from cmdb.cli.context import CliContext, CommandError
from cmdb.cli.io_cmd import KIND_NAMES
from cmdb.cli.render import table
from cmdb.i18n import fmt_datetime, t


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"не целое число: {text!r}") from exc
    if value < 0:
        raise argparse.ArgumentTypeError("должно быть не меньше 0")
    return value


def register_list(sub: Any) -> None:
    parser = sub.add_parser("list", help="список записей одного вида")
    parser.add_argument("kind", choices=KIND_NAMES, metavar="KIND")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="отбор по значению столбца (можно несколько раз)",
    )
    parser.add_argument("--columns", help="столбцы через запятую (по умолчанию первые шесть)")
    parser.add_argument(
        "--limit", type=_non_negative, default=50, help="не больше N строк (0 — все)"
    )
    parser.set_defaults(handler=_list)


def register_show(sub: Any) -> None:
    parser = sub.add_parser("show", help="одна запись по ключу и её история изменений")
    parser.add_argument("kind", choices=KIND_NAMES, metavar="KIND")
    parser.add_argument("key")
    parser.set_defaults(handler=_show)


def register_delete(sub: Any) -> None:
    parser = sub.add_parser("delete", help="удалить запись по ключу (с записью в журнал аудита)")
    parser.add_argument("kind", choices=KIND_NAMES, metavar="KIND")
    parser.add_argument("key")
    parser.set_defaults(handler=_delete)


def register_summary(sub: Any) -> None:
    parser = sub.add_parser("summary", help="сводка по CMDB: объекты, ЗСПД, сроки")
    parser.add_argument("--today", type=dt.date.fromisoformat, help="дата отсчёта (ГГГГ-ММ-ДД)")
    parser.set_defaults(handler=_summary)


def register_audit(sub: Any) -> None:
    parser = sub.add_parser("audit", help="журнал аудита изменений")
    parser.add_argument("--kind", choices=KIND_NAMES, metavar="KIND")
    parser.add_argument("--key")
    parser.add_argument("--limit", type=_non_negative, default=30)
    parser.set_defaults(handler=_audit)


def _list(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.exporter import export_records

    header, records = export_records(ctx.engine(), args.kind, ctx.settings.zone, native=False)
    for condition in args.where:
        column, sep, value = condition.partition("=")
        if not sep or column not in header:
            raise CommandError(f"--where {condition!r}: {', '.join(header)}", 2)
        records = [r for r in records if str(r.get(column, "")) == value]
    columns = args.columns.split(",") if args.columns else header[:6]
    unknown = [c for c in columns if c not in header]
    if unknown:
        raise CommandError(f"--columns {','.join(unknown)}: {', '.join(header)}", 2)
    total = len(records)
    if args.limit:
        records = records[: args.limit]
    ctx.print(table(columns, [[r.get(c) for c in columns] for r in records]))
    ctx.print(f"({len(records)} / {total})")
    return 0


def _show(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.errors import NotFound
    from cmdb.kinds import KINDS
    from cmdb.services import audit_entries, get_record

    engine = ctx.engine()
    try:
        record = get_record(engine, args.kind, args.key, ctx.settings.zone)
    except NotFound as exc:
        raise CommandError(t(ctx.locale, "cli.not_found", kind=args.kind, key=args.key), 1) from exc
    width = max(len(k) for k in record)
    for name, value in record.items():
        ctx.print(f"{name.ljust(width)}  {'' if value is None else value}")
    entries = audit_entries(engine, entity=KINDS[args.kind].entity, key=args.key, limit=10)
    if entries:
        ctx.print()
        ctx.print("Журнал изменений:" if ctx.locale == "ru" else "Change history:")
        for entry in entries:
            when = fmt_datetime(entry.at, ctx.settings.zone, ctx.locale)
            ctx.print(f"  {when}  {entry.actor}  {entry.action}  {entry.source or ''}")
    return 0


def _delete(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.errors import Conflict, NotFound
    from cmdb.services import delete_record

    try:
        delete_record(ctx.engine(), args.kind, args.key, actor=ctx.actor, zone=ctx.settings.zone)
    except NotFound as exc:
        raise CommandError(t(ctx.locale, "cli.not_found", kind=args.kind, key=args.key), 1) from exc
    except Conflict as exc:
        raise CommandError(
            t(ctx.locale, "cli.still_referenced", kind=args.kind, key=args.key, detail=exc), 1
        ) from exc
    ctx.print(t(ctx.locale, "cli.deleted", kind=args.kind, key=args.key))
    return 0


def _summary(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.summary import build_summary, render_summary

    today = args.today or dt.datetime.now(ctx.settings.zone).date()
    ctx.print(render_summary(build_summary(ctx.engine(), today), ctx.locale))
    return 0


def _audit(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.kinds import KINDS
    from cmdb.services import audit_entries

    entity = KINDS[args.kind].entity if args.kind else None
    entries = audit_entries(ctx.engine(), entity=entity, key=args.key, limit=args.limit)
    rows = [
        [
            fmt_datetime(e.at, ctx.settings.zone, ctx.locale),
            e.actor,
            e.action,
            e.entity,
            e.entity_key,
            e.source or "",
        ]
        for e in entries
    ]
    header = (
        ["время", "кто", "действие", "сущность", "ключ", "источник"]
        if ctx.locale == "ru"
        else ["when", "who", "action", "entity", "key", "source"]
    )
    ctx.print(table(header, rows))
    return 0
