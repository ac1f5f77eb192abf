"""``kontur schedule`` (control-point calendar) and ``kontur indicators`` (plan vs fact)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from cmdb.cli.context import CliContext, CommandError
from cmdb.cli.render import table
from cmdb.i18n import fmt_date


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
    parser.set_defaults(handler=_schedule)


def register_indicators(sub: Any) -> None:
    parser = sub.add_parser("indicators", help="показатели: план и факт по CMDB")
    parser.add_argument("--year", type=int, help="год плана (по умолчанию текущий)")
    parser.set_defaults(handler=_indicators)


def _schedule(args: argparse.Namespace, ctx: CliContext) -> int:
    from cmdb.planning import calendar

    today = dt.datetime.now(ctx.settings.zone).date()
    first = args.first or today
    last = args.last or first + dt.timedelta(days=90)
    if last < first:
        raise CommandError("--to < --from", 2)
    items = calendar(ctx.engine(), first, last, args.code)
    ru = ctx.locale == "ru"
    header = (
        ["срок", "код", "период", "контрольная точка", "документ"]
        if ru
        else ["due", "code", "period", "control point", "evidence"]
    )
    rows = []
    for item in items:
        occ = item.occurrence
        period = (
            f"{fmt_date(occ.period_start, ctx.locale)}–{fmt_date(occ.period_end, ctx.locale)}"
            if occ.period_start
            else ""
        )
        rows.append([fmt_date(occ.due, ctx.locale), item.code, period, item.title, item.evidence])
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
