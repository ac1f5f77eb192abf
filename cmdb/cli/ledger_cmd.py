"""``kontur status`` (current states, an object's history) and ``kontur import status-events``."""

from __future__ import annotations

import argparse
from typing import Any

from cmdb.cli.context import CliContext, CommandError
from cmdb.cli.render import table
from cmdb.i18n import fmt_datetime, t

OBJECT_KINDS = ("site", "device", "channel", "vipnet_node", "workstation")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "status", help="состояние объектов по данным мониторинга и история переходов"
    )
    parser.add_argument("--kind", choices=OBJECT_KINDS, help="вид объекта")
    parser.add_argument("--key", help="ключ объекта (с --kind): история его переходов")
    parser.add_argument("--vantage", help="точка наблюдения (по умолчанию все)")
    parser.add_argument(
        "--state", choices=("up", "down", "degraded", "unknown"), help="только в этом состоянии"
    )
    parser.add_argument("--limit", type=int, default=50)
    parser.set_defaults(handler=_status)


def _status(args: argparse.Namespace, ctx: CliContext) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from cmdb.choices import label
    from cmdb.models import ObjectState, StatusTransition

    if args.key and not args.kind:
        raise CommandError("--key требует --kind", 2)
    if args.limit < 0:
        raise CommandError("--limit < 0", 2)
    zone, locale = ctx.settings.zone, ctx.locale
    ru = locale == "ru"
    with Session(ctx.engine()) as session:
        if args.key:
            query = (
                select(StatusTransition)
                .where(
                    StatusTransition.object_kind == args.kind,
                    StatusTransition.object_key == args.key,
                )
                .order_by(StatusTransition.at.desc(), StatusTransition.id.desc())
            )
            if args.vantage:
                query = query.where(StatusTransition.vantage == args.vantage)
            if args.limit:
                query = query.limit(args.limit)
            rows = [
                [
                    fmt_datetime(tr.at, zone, locale),
                    tr.vantage,
                    label(tr.previous, locale) if tr.previous else "—",
                    label(tr.state, locale),
                    tr.reason or "",
                    tr.source or "",
                ]
                for tr in session.scalars(query)
            ]
            header = (
                ["время", "точка", "было", "стало", "причина", "источник"]
                if ru
                else ["at", "vantage", "from", "to", "reason", "source"]
            )
            ctx.print(table(header, rows))
            return 0
        state_query = select(ObjectState).order_by(
            ObjectState.object_kind, ObjectState.object_key, ObjectState.vantage
        )
        if args.kind:
            state_query = state_query.where(ObjectState.object_kind == args.kind)
        if args.vantage:
            state_query = state_query.where(ObjectState.vantage == args.vantage)
        if args.state:
            state_query = state_query.where(ObjectState.state == args.state)
        if args.limit:
            state_query = state_query.limit(args.limit)
        rows = [
            [
                label(st.object_kind, locale),
                st.object_key,
                st.vantage,
                label(st.state, locale),
                fmt_datetime(st.since, zone, locale),
                fmt_datetime(st.last_seen_at, zone, locale),
            ]
            for st in session.scalars(state_query)
        ]
    header = (
        ["вид", "объект", "точка", "состояние", "с", "последний опрос"]
        if ru
        else ["kind", "object", "vantage", "state", "since", "last seen"]
    )
    ctx.print(table(header, rows))
    return 0


def import_status_events(args: argparse.Namespace, ctx: CliContext) -> int:
    """``kontur import status-events FILE``."""
    from cmdb.errors import ImportFailed
    from cmdb.status_import import import_status_events as run

    try:
        result = run(
            ctx.engine(), args.file, actor=ctx.actor, zone=ctx.settings.zone,
            locale=ctx.locale, dry_run=args.dry_run, encoding=args.encoding,
        )  # fmt: skip
    except ImportFailed as exc:
        raise ctx.import_failed(args.file, exc.errors) from exc
    ctx.print(
        t(
            ctx.locale,
            "cli.imported",
            file=args.file,
            kind="status-events",
            created=result.created,
            updated=0,
            unchanged=result.unchanged,
        )
    )
    if args.dry_run:
        ctx.print(t(ctx.locale, "cli.dry_run"))
    return 0
