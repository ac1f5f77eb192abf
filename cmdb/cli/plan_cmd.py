"""``kontur schedule`` (control-point calendar) and ``kontur indicators`` (plan vs fact)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from cmdb.cli.context import CliContext, CommandError
from cmdb.cli.render import table
from cmdb.i18n import fmt_date

#: Statuses of control-point occurrences (cmdb.calendars.CpStatus), for argparse.
STATUSES = ("upcoming", "due", "overdue", "done")


def _date(text: str) -> dt.date:
    from cmdb.fields import FieldError, parse_date

    try:
        return parse_date(text)
    except FieldError as exc:
        raise argparse.ArgumentTypeError(
            f"неверная дата {text!r}: ДД.ММ.ГГГГ или ГГГГ-ММ-ДД"
        ) from exc


def register_schedule(sub: Any) -> None:
    parser = sub.add_parser("schedule", help="календарь контрольных точек")
    parser.add_argument("--from", dest="first", type=_date, help="с даты (по умолчанию сегодня)")
    parser.add_argument("--to", dest="last", type=_date, help="по дату (по умолчанию +90 дней)")
    parser.add_argument("--code", help="только эта контрольная точка")
    parser.add_argument(
        "--status",
        action="append",
        choices=STATUSES,
        help="только в этом статусе (можно повторить): upcoming — предстоит, due — срок наступает,"
        " overdue — просрочена, done — выполнена; без --from — за всё время",
    )
    parser.add_argument(
        "--today", type=_date, help="на дату (по умолчанию сегодня): от неё считаются статусы"
    )
    parser.set_defaults(handler=_schedule)


def register_indicators(sub: Any) -> None:
    parser = sub.add_parser("indicators", help="показатели: план и факт по CMDB")
    parser.add_argument("--year", type=int, help="год плана (по умолчанию текущий)")
    parser.set_defaults(handler=_indicators)


def _schedule(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.calendars import control_point_statuses

    today = args.today or dt.datetime.now(ctx.settings.zone).date()
    # Asked for a status, the calendar looks back without limit: overdue points are in the past.
    first = args.first or (dt.date.min if args.status else today)
    last = args.last or (args.first or today) + dt.timedelta(days=90)
    if last < first:
        raise CommandError("--to < --from", 2)
    items = control_point_statuses(
        ctx.engine(),
        first,
        last,
        today,
        code=args.code,
        due_soon_days=ctx.settings.notify.due_soon_days,
        statuses=args.status,
    )
    ru = ctx.locale == "ru"
    header = (
        ["срок", "статус", "код", "период", "контрольная точка", "документ", "подтверждение"]
        if ru
        else ["due", "status", "code", "period", "control point", "evidence", "attached"]
    )
    rows = []
    for item in items:
        occ = item.occurrence
        period = (
            f"{fmt_date(occ.period_start, ctx.locale)}–{fmt_date(occ.period_end, ctx.locale)}"
            if occ.period_start
            else ""
        )
        rows.append(
            [
                fmt_date(occ.due, ctx.locale),
                item.status.label(ctx.locale),
                item.code,
                period,
                item.title,
                item.evidence_kind,
                item.evidence.document if item.evidence else "",
            ]
        )
    ctx.print(table(header, rows))
    return 0


def _indicators(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.planning import indicators

    year = args.year or dt.datetime.now(ctx.settings.zone).year
    ru = ctx.locale == "ru"
    header = (
        ["код", "показатель", "ед.", "год плана", "план", "факт", "выполнен"]
        if ru
        else ["code", "indicator", "unit", "plan year", "plan", "fact", "met"]
    )
    yes, no = ("да", "нет") if ru else ("yes", "no")
    rows = [
        [
            s.code,
            s.title,
            s.unit,
            s.plan_year or "—",
            "—" if s.plan is None else s.plan,
            "—" if s.fact is None else s.fact,
            {True: yes, False: no, None: "—"}[s.met],
        ]
        for s in indicators(ctx.engine(), year)
    ]
    ctx.print(table(header, rows))
    return 0
