"""``kontur report uptime``: availability (SLA) per object and group, for a month or an interval.

The numbers come from :func:`cmdb.sla.build_uptime_report` (definitions: docs/sla.md). JSON and
the terminal table are rendered here; XLSX, HTML and PDF by :mod:`cmdb.reports.render`, imported
only when one of those formats is asked for.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmdb.cli.context import CliContext, CommandError

if TYPE_CHECKING:
    from cmdb.uptime_types import FailoverStats, GroupUptime, ObjectUptime, Seconds, UptimeReport

KINDS = ("channel", "site", "device", "vipnet_node", "workstation")
TEXT_FORMATS = ("table", "json")
BINARY_FORMATS = ("xlsx", "html", "pdf")

#: User-facing messages: key → (Russian, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "bad_month": (
        "неверный месяц {value!r}: ожидается ГГГГ-ММ, например 2026-10",
        "bad month {value!r}: expected YYYY-MM, e.g. 2026-10",
    ),
    "bad_date": (
        "неверная дата {value!r}: ожидается ДД.ММ.ГГГГ, ГГГГ-ММ-ДД или дата и время ISO 8601",
        "bad date {value!r}: expected DD.MM.YYYY, YYYY-MM-DD or an ISO 8601 date and time",
    ),
    "period_needed": (
        "укажите период: --month ГГГГ-ММ или --from ДАТА --to ДАТА",
        "give the period: --month YYYY-MM or --from DATE --to DATE",
    ),
    "from_to": ("--from и --to указываются вместе", "--from and --to go together"),
    "month_and_range": (
        "--month нельзя сочетать с --from/--to",
        "--month cannot be combined with --from/--to",
    ),
    "empty_range": (
        "пустой период: --to ({last}) должен быть позже --from ({first})",
        "empty period: --to ({last}) must be later than --from ({first})",
    ),
    "binary_tty": (
        "формат {fmt} двоичный: укажите файл (-o ФАЙЛ) или перенаправьте вывод",
        "{fmt} is a binary format: give a file (-o FILE) or redirect the output",
    ),
    "no_renderer": (
        "формат {fmt} недоступен: {detail}",
        "the {fmt} format is unavailable: {detail}",
    ),
    "written": ("отчёт записан: {path}", "report written: {path}"),
    "evidence_month": (
        "--evidence требует --month: подтверждение относится к отчётному месяцу",
        "--evidence needs --month: evidence belongs to a reporting month",
    ),
    "evidence_none": (
        "контрольная точка {code}: нет срока за {month} (периодичность не месячная "
        "или месяц вне срока действия); ничего не записано",
        "control point {code}: no occurrence for {month} (not monthly, or outside its "
        "validity); nothing written",
    ),
    "evidence_unknown": (
        "контрольная точка {code} не найдена; ничего не записано",
        "control point {code} not found; nothing written",
    ),
    "evidence_doc": (
        "Отчёт о доступности ({kinds}) за {month}: SLI {sli}, худший случай {worst}, "
        "нет данных {unknown} (Kontur)",
        "Availability report ({kinds}) for {month}: SLI {sli}, worst case {worst}, "
        "unknown {unknown} (Kontur)",
    ),
    "evidence_done": (
        "контрольная точка {code}, срок {due}: {what}",
        "control point {code}, due {due}: {what}",
    ),
    "cannot_write": ("не удалось записать {path}: {detail}", "cannot write {path}: {detail}"),
    "title": (
        "Доступность за {label} ({zone}), вид: {kinds}",
        "Availability for {label} ({zone}), kind: {kinds}",
    ),
    "objects": ("Объекты", "Objects"),
    "groups": ("Итоги по районам и региону", "Totals per district and region"),
    "failovers": ("Переключения на резерв", "Failovers to backup"),
    "none": ("нет", "none"),
}

HEADERS: dict[str, tuple[list[str], list[str]]] = {
    "objects": (
        ["вид", "объект", "наименование", "площадка", "работа, с", "простой, с", "ухудш., с",
         "нет данных, с", "обслуж., с", "расхожд., с", "SLI", "SLI (худш.)", "нет данных",
         "цель", "выполнено"],
        ["kind", "object", "name", "site", "up, s", "down, s", "degraded, s", "unknown, s",
         "maintenance, s", "disagreement, s", "SLI", "SLI (worst)", "unknown", "target", "met"],
    ),
    "groups": (
        ["уровень", "код", "наименование", "вид", "объектов", "работа, с", "простой, с",
         "ухудш., с", "нет данных, с", "обслуж., с", "SLI", "SLI (худш.)", "нет данных"],
        ["level", "code", "name", "kind", "objects", "up, s", "down, s", "degraded, s",
         "unknown, s", "maintenance, s", "SLI", "SLI (worst)", "unknown"],
    ),
    "failovers": (
        ["площадка", "группа", "переключений", "на резерве, с", "дольше всего, с",
         "последний раз", "месяцев без переключений"],
        ["site", "group", "switches", "on backup, s", "longest, s", "last time",
         "months without a switch"],
    ),
}  # fmt: skip

LEVEL_LABELS = {
    "site": ("площадка", "site"),
    "organization": ("МО", "organization"),
    "district": ("район", "district"),
    "region": ("регион", "region"),
}

_DATE_ONLY = re.compile(r"^\s*(\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2})\s*$")


def msg(locale: str, key: str, **params: Any) -> str:
    """A message of :data:`MESSAGES` in ``locale`` ('ru' or 'en')."""
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


def register(sub: Any) -> None:
    """``kontur report …`` (entry point ``report = "cmdb.cli.report_cmd:register"``)."""
    parser = sub.add_parser("report", help="отчёты: доступность (SLA)")
    reports = parser.add_subparsers(dest="report", metavar="REPORT", required=True)
    uptime = reports.add_parser(
        "uptime",
        help="доступность объектов за месяц или период (определения: docs/sla.md)",
        description="Доступность (SLA) объектов за календарный месяц в часовом поясе региона "
        "или за период [--from, --to).",
    )
    uptime.add_argument("--month", help="месяц ГГГГ-ММ (или ММ.ГГГГ)")
    uptime.add_argument(
        "--from", dest="first", metavar="DATE", help="начало периода: ДД.ММ.ГГГГ или ISO 8601"
    )
    uptime.add_argument(
        "--to", dest="last", metavar="DATE", help="конец периода, не включая: ДД.ММ.ГГГГ или ISO"
    )
    uptime.add_argument(
        "--kind",
        dest="kinds",
        nargs="+",
        action="extend",
        choices=KINDS,
        metavar="KIND",
        help=f"вид объектов (по умолчанию channel): {', '.join(KINDS)}",
    )
    uptime.add_argument(
        "--format",
        dest="fmt",
        choices=TEXT_FORMATS + BINARY_FORMATS,
        default="table",
        help="table (по умолчанию), json, xlsx, html, pdf",
    )
    uptime.add_argument("-o", "--output", type=Path, help="файл (по умолчанию стандартный вывод)")
    uptime.add_argument(
        "--evidence",
        action="append",
        metavar="CODE",
        help="отметить срок контрольной точки (например 1.1.2.3.4) за этот месяц выполненным "
        "с отчётом как подтверждением (можно несколько раз)",
    )
    uptime.set_defaults(handler=uptime_handler)


# --- arguments --------------------------------------------------------------------------------


def _moment(text: str, zone: dt.tzinfo, locale: str) -> dt.datetime:
    """A date (local midnight) or a date and time (ISO offset honoured, else local), in UTC."""
    from cmdb.fields import FieldError, parse_date, parse_datetime
    from cmdb.sla import local_midnight

    try:
        if _DATE_ONLY.match(text):
            return local_midnight(parse_date(text), zone)
        return parse_datetime(text, zone)
    except FieldError as exc:
        raise CommandError(msg(locale, "bad_date", value=text), 2) from exc


def _period(
    args: argparse.Namespace, zone: dt.tzinfo, locale: str
) -> tuple[dt.datetime, dt.datetime, str | None]:
    from cmdb.sla import month_bounds, parse_month

    if args.month is not None:
        if args.first is not None or args.last is not None:
            raise CommandError(msg(locale, "month_and_range"), 2)
        try:
            year, number = parse_month(args.month)
            # Years at the ends of the calendar (0001, 9999) have no month after/before them.
            start, end = month_bounds(args.month, zone)
        except (ValueError, OverflowError) as exc:
            raise CommandError(msg(locale, "bad_month", value=args.month), 2) from exc
        return start, end, f"{year:04d}-{number:02d}"
    if args.first is None and args.last is None:
        raise CommandError(msg(locale, "period_needed"), 2)
    if args.first is None or args.last is None:
        raise CommandError(msg(locale, "from_to"), 2)
    start, end = _moment(args.first, zone, locale), _moment(args.last, zone, locale)
    if end <= start:
        raise CommandError(msg(locale, "empty_range", first=args.first, last=args.last), 2)
    return start, end, None


def uptime_handler(args: argparse.Namespace, ctx: CliContext) -> int:
    """``kontur report uptime``."""
    from cmdb.sla import build_uptime_report

    locale, zone = ctx.locale, ctx.settings.zone
    start, end, label = _period(args, zone, locale)
    fmt: str = args.fmt
    out_path: Path | None = args.output
    if fmt in BINARY_FORMATS and out_path is None and _isatty(ctx.out):
        raise CommandError(msg(locale, "binary_tty", fmt=fmt), 2)
    renderer = _renderer(fmt, locale) if fmt in BINARY_FORMATS else None
    kinds = tuple(dict.fromkeys(args.kinds or ("channel",)))
    evidence_codes = list(dict.fromkeys(getattr(args, "evidence", None) or ()))
    if evidence_codes and not args.month:
        raise CommandError(msg(locale, "evidence_month"), 2)
    due_dates = _evidence_dues(ctx, evidence_codes, start.astimezone(zone).date(), label or "")
    report = build_uptime_report(ctx.engine(), start, end, zone=zone, kinds=kinds, label=label)
    if renderer is not None:
        data = _render_binary(renderer, report, fmt, locale)
    elif fmt == "json":
        data = (json.dumps(report_json(report), ensure_ascii=False, indent=2) + "\n").encode()
    else:
        data = (report_table(report, kinds, locale) + "\n").encode()
    if out_path is not None:
        try:
            out_path.write_bytes(data)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise CommandError(
                msg(locale, "cannot_write", path=out_path, detail=detail), 1
            ) from exc
        print(msg(locale, "written", path=out_path), file=ctx.err)
    elif renderer is not None:
        buffer = getattr(ctx.out, "buffer", None)
        if buffer is None:
            raise CommandError(msg(locale, "binary_tty", fmt=fmt), 2)
        ctx.out.flush()
        buffer.write(data)
        buffer.flush()
    else:
        ctx.out.write(data.decode())
    _attach_evidence(ctx, report, kinds, due_dates)
    return 0


def _evidence_dues(
    ctx: CliContext, codes: list[str], month_start: dt.date, label: str
) -> dict[str, dt.date]:
    """The due date of each control point's occurrence for the month (all checked first)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from cmdb.models import ControlPoint
    from cmdb.planning import schedule_of
    from cmdb.schedule import iter_occurrences

    dues: dict[str, dt.date] = {}
    with Session(ctx.engine()) as session:
        for code in codes:
            cp = session.scalars(select(ControlPoint).where(ControlPoint.code == code)).first()
            if cp is None:
                raise CommandError(msg(ctx.locale, "evidence_unknown", code=code), 1)
            due = next(
                (
                    occ.due
                    for occ in iter_occurrences(schedule_of(cp))
                    if occ.period_start == month_start
                    and occ.period_end is not None
                    and occ.period_end.month == month_start.month
                ),
                None,
            )
            if due is None:
                raise CommandError(msg(ctx.locale, "evidence_none", code=code, month=label), 1)
            dues[code] = due
    return dues


def _attach_evidence(
    ctx: CliContext, report: UptimeReport, kinds: tuple[str, ...], dues: dict[str, dt.date]
) -> None:
    """Attach the measured month as generated evidence of each control point's occurrence."""
    if not dues:
        return
    from cmdb.calendars import attach_generated
    from cmdb.i18n import fmt_date
    from cmdb.uptime_types import Seconds

    total = Seconds()
    for obj in report.objects:
        s = obj.seconds
        total = Seconds(
            total.up_s + s.up_s, total.down_s + s.down_s, total.degraded_s + s.degraded_s,
            total.unknown_s + s.unknown_s, total.maintenance_s + s.maintenance_s,
            total.disagreement_s + s.disagreement_s,
        )  # fmt: skip
    document = msg(
        ctx.locale, "evidence_doc", kinds=", ".join(kinds), month=report.label,
        sli=_ratio(total.sli), worst=_ratio(total.sli_worst), unknown=_ratio(total.unknown_share),
    )  # fmt: skip
    for code, due in dues.items():
        info = attach_generated(ctx.engine(), code, due, document[:500])
        ctx.print(
            msg(
                ctx.locale,
                "evidence_done",
                code=code,
                due=fmt_date(due, ctx.locale),
                what=info.document,
            )
        )


def _isatty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


Renderer = Callable[["UptimeReport", str], bytes]


def _renderer(fmt: str, locale: str) -> Renderer:
    """The XLSX/HTML/PDF renderer, imported only now (openpyxl, WeasyPrint are heavy)."""
    try:
        from cmdb.reports import render
    except ImportError as exc:  # pragma: no cover - the renderers ship with cmdb
        raise CommandError(msg(locale, "no_renderer", fmt=fmt, detail=exc), 2) from exc
    function: Renderer = getattr(render, f"render_{fmt}")
    return function


def _render_binary(renderer: Renderer, report: UptimeReport, fmt: str, locale: str) -> bytes:
    from cmdb.errors import KonturError

    try:
        return renderer(report, locale)
    except KonturError as exc:  # e.g. PdfUnavailable: WeasyPrint or Pango missing
        raise CommandError(msg(locale, "no_renderer", fmt=fmt, detail=exc), 2) from exc


# --- JSON ------------------------------------------------------------------------------------


def _iso(value: dt.datetime | None, zone: dt.tzinfo) -> str | None:
    return None if value is None else value.astimezone(zone).isoformat()


def _pct(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _seconds_json(seconds: Seconds) -> dict[str, float | None]:
    return {
        "up_s": seconds.up_s,
        "down_s": seconds.down_s,
        "degraded_s": seconds.degraded_s,
        "unknown_s": seconds.unknown_s,
        "maintenance_s": seconds.maintenance_s,
        "disagreement_s": seconds.disagreement_s,
        "sli": seconds.sli,
        "sli_worst": seconds.sli_worst,
        "unknown_share": seconds.unknown_share,
    }


def _object_json(obj: ObjectUptime) -> dict[str, Any]:
    return {
        "kind": obj.kind,
        "key": obj.key,
        "name": obj.name,
        "site": obj.site,
        "district": obj.district,
        "organization": obj.organization,
        **_seconds_json(obj.seconds),
        "sla_target_pct": _pct(obj.sla_target_pct),
        "meets_target": obj.meets_target,
    }


def _group_json(group: GroupUptime) -> dict[str, Any]:
    return {
        "level": group.level,
        "key": group.key,
        "name": group.name,
        "kind": group.kind,
        "objects": group.objects,
        **_seconds_json(group.seconds),
    }


def _failover_json(stats: FailoverStats, zone: dt.tzinfo) -> dict[str, Any]:
    return {
        "site": stats.site,
        "redundancy_group": stats.redundancy_group,
        "switches": stats.switches,
        "backup_s": stats.backup_s,
        "longest_backup_s": stats.longest_backup_s,
        "last_backup_at": _iso(stats.last_backup_at, zone),
        "months_without_exercise": stats.months_without_exercise,
    }


def report_json(report: UptimeReport) -> dict[str, Any]:
    """The report as JSON-ready data (times in the region's zone with their offset)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(report.zone)
    return {
        "period": {
            "label": report.label,
            "start": _iso(report.start, zone),
            "end": _iso(report.end, zone),
            "zone": report.zone,
            "seconds": (report.end - report.start).total_seconds(),
            "generated_at": _iso(report.generated_at, zone),
        },
        "objects": [_object_json(obj) for obj in report.objects],
        "groups": [_group_json(group) for group in report.groups],
        "failovers": [_failover_json(stats, zone) for stats in report.failovers],
        "outages_by_day": {day.isoformat(): n for day, n in report.outages_by_day.items()},
    }


# --- the terminal table --------------------------------------------------------------------------


def _num(value: float) -> str:
    """Seconds as people read them: whole numbers plain, fractions to the microsecond."""
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0")


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.3f} %"


def _seconds_cells(seconds: Seconds, *, disagreement: bool) -> list[str]:
    cells = [
        _num(seconds.up_s),
        _num(seconds.down_s),
        _num(seconds.degraded_s),
        _num(seconds.unknown_s),
        _num(seconds.maintenance_s),
    ]
    if disagreement:
        cells.append(_num(seconds.disagreement_s))
    return [*cells, _ratio(seconds.sli), _ratio(seconds.sli_worst), _ratio(seconds.unknown_share)]


def report_table(report: UptimeReport, kinds: tuple[str, ...], locale: str) -> str:
    """The report as plain-text tables: objects, district and region totals, failovers."""
    from zoneinfo import ZoneInfo

    from cmdb.choices import label
    from cmdb.cli.render import table
    from cmdb.i18n import fmt_datetime

    en = locale == "en"
    yes, no = ("yes", "no") if en else ("да", "нет")
    zone = ZoneInfo(report.zone)
    kind_names = ", ".join(label(kind, locale) for kind in kinds)
    lines = [msg(locale, "title", label=report.label, zone=report.zone, kinds=kind_names), ""]
    lines.append(msg(locale, "objects"))
    lines.append(
        table(
            HEADERS["objects"][en],
            [
                [
                    label(obj.kind, locale), obj.key, obj.name or "", obj.site or "",
                    *_seconds_cells(obj.seconds, disagreement=True),
                    "—" if obj.sla_target_pct is None else f"{obj.sla_target_pct} %",
                    {True: yes, False: no, None: "—"}[obj.meets_target],
                ]
                for obj in report.objects
            ],
        )
    )  # fmt: skip
    totals = [g for g in report.groups if g.level in ("district", "region")]
    if totals:
        lines += ["", msg(locale, "groups")]
        lines.append(
            table(
                HEADERS["groups"][en],
                [
                    [
                        LEVEL_LABELS[g.level][en], g.key, g.name, label(g.kind, locale),
                        g.objects, *_seconds_cells(g.seconds, disagreement=False),
                    ]
                    for g in totals
                ],
            )
        )  # fmt: skip
    if report.failovers:
        lines += ["", msg(locale, "failovers")]
        lines.append(
            table(
                HEADERS["failovers"][en],
                [
                    [
                        f.site, f.redundancy_group, f.switches, _num(f.backup_s),
                        _num(f.longest_backup_s),
                        fmt_datetime(f.last_backup_at, zone, locale) or msg(locale, "none"),
                        "—" if f.months_without_exercise is None else f.months_without_exercise,
                    ]
                    for f in report.failovers
                ],
            )
        )  # fmt: skip
    return "\n".join(lines)
