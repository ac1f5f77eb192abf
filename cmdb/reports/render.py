"""The uptime report as XLSX, HTML and PDF, rendered from an :class:`UptimeReport`.

The numbers come computed (``cmdb.sla``); this module only lays them out, in Russian by default
or in English. Unknown time is never folded away: every table shows the unknown share next to
the SLI, and the worst-case SLI (unknown counted as down) beside it.

- XLSX: «Сведения» (title, period, definitions), «Районы» (one row per district group, region
  totals below), one sheet per object kind present, «Резервирование» (failover groups). Header
  rows frozen, autofilter, percentages as ``0.000%``, durations as ``[h]:mm:ss``; SLA targets
  missed are filled red, met green; a backup unexercised for 3 months or more (or never) red.
- HTML: standalone UTF-8 with inline CSS and inline SVG charts (see ``charts``).
- PDF: WeasyPrint renders the same HTML (see ``pdf``), in DejaVu Sans for Cyrillic.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from cmdb.reports import charts
from cmdb.reports.pdf import html_to_pdf
from cmdb.reports.text import (
    check_locale,
    fmt_day,
    fmt_duration,
    fmt_int,
    fmt_moment,
    fmt_pct,
    fmt_target,
    kind_label,
    kind_plural,
    title,
    w,
)
from cmdb.uptime_types import FailoverStats, GroupUptime, ObjectUptime, Seconds, UptimeReport

if TYPE_CHECKING:
    from decimal import Decimal

    from openpyxl import Workbook

#: Object kinds in the order their sheets and charts appear; others follow alphabetically.
KIND_ORDER = ("channel", "site", "device", "vipnet_node", "workstation")
#: The HTML/PDF list of the worst objects stops here (the total is noted).
WORST_LIMIT = 50
#: The failover chart shows this many sites with the most switches.
FAILOVER_TOP = 15
#: Bars per chart part: a longer chart (60 districts) is split so that each part fits a page.
BARS_PER_CHART = 25
#: A backup not exercised for this many months (or never) is highlighted.
STALE_MONTHS = 3

# XLSX fills (ARGB) and number formats
FILL_MISSED = "FFF4CCCC"
FILL_MET = "FFD9EAD3"
FILL_HEADER = "FFE7E6E6"
FMT_PCT = "0.000%"
FMT_TARGET = "0.0##%"
FMT_DURATION = "[h]:mm:ss"
FMT_INT = "0"
FMT_MOMENT = {"ru": "DD.MM.YYYY HH:MM", "en": "YYYY-MM-DD HH:MM"}

CellValue = str | int | float | dt.datetime | None


# ---------------------------------------------------------------------------------------------
# what every format shares


def _kind_rank(kind: str) -> tuple[int, str]:
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER), kind)


def _kinds(report: UptimeReport) -> list[str]:
    return sorted({o.kind for o in report.objects}, key=_kind_rank)


def _groups(report: UptimeReport, level: str) -> list[GroupUptime]:
    rows = [g for g in report.groups if g.level == level]
    return sorted(rows, key=lambda g: (_kind_rank(g.kind), g.name.casefold(), g.key))


def _title(report: UptimeReport, zone: ZoneInfo, locale: str) -> str:
    kinds = {o.kind for o in report.objects} | {g.kind for g in report.groups}
    return title(
        report.label, report.start, report.end, zone, locale, channels=kinds <= {"channel"}
    )


def _period(report: UptimeReport, zone: ZoneInfo, locale: str) -> str:
    return f"{fmt_moment(report.start, zone, locale)} – {fmt_moment(report.end, zone, locale)}"


def _verdict(obj: ObjectUptime) -> str | None:
    """'met', 'missed' or None (no target, or no data to judge)."""
    meets = obj.meets_target
    if meets is None:
        return None
    return "met" if meets else "missed"


def _worst_first(objects: Iterable[ObjectUptime]) -> list[ObjectUptime]:
    """Objects with data, the lowest SLI first (ties: the larger unknown share first)."""
    measured = [o for o in objects if o.seconds.sli is not None]
    return sorted(
        measured,
        key=lambda o: (o.seconds.sli or 0.0, -(o.seconds.unknown_share or 0.0), o.kind, o.key),
    )


def _stale(stats: FailoverStats) -> bool:
    months = stats.months_without_exercise
    return months is None or months >= STALE_MONTHS


def _failovers_ordered(report: UptimeReport) -> list[FailoverStats]:
    """Groups needing attention first (stale backup), then by switches, most first."""
    return sorted(
        report.failovers,
        key=lambda f: (not _stale(f), -f.switches, f.site.casefold(), f.redundancy_group),
    )


def _object_name(obj: ObjectUptime) -> str:
    return obj.name or ""


# ---------------------------------------------------------------------------------------------
# XLSX


@dataclass(frozen=True)
class _Col:
    header: str
    fmt: str | None = None  # number format of the data cells
    width: float | None = None  # None: fitted to the content


@dataclass
class _Row:
    values: list[CellValue]
    fills: dict[int, str] = field(default_factory=dict)  # column index → ARGB fill
    bold: bool = False


def _days(seconds: float) -> float:
    """Seconds as an Excel duration (a fraction of a day), shown with ``[h]:mm:ss``."""
    return seconds / 86400


def _ratio(value: float | None, locale: str) -> CellValue:
    return w(locale, "no_data") if value is None else value


def _target_fraction(target: Decimal | None) -> float | None:
    return None if target is None else float(target) / 100


def _seconds_cols(locale: str) -> list[_Col]:
    return [
        _Col(w(locale, "col.up"), FMT_DURATION, 13),
        _Col(w(locale, "col.disagreement"), FMT_DURATION, 14),
        _Col(w(locale, "col.down"), FMT_DURATION, 13),
        _Col(w(locale, "col.degraded"), FMT_DURATION, 13),
        _Col(w(locale, "col.unknown"), FMT_DURATION, 13),
        _Col(w(locale, "col.maintenance"), FMT_DURATION, 13),
        _Col(w(locale, "col.sli"), FMT_PCT, 13),
        _Col(w(locale, "col.sli_worst"), FMT_PCT, 13),
        _Col(w(locale, "col.unknown_share"), FMT_PCT, 13),
    ]


def _seconds_values(s: Seconds, locale: str) -> list[CellValue]:
    return [
        _days(s.up_s),
        _days(s.disagreement_s),
        _days(s.down_s),
        _days(s.degraded_s),
        _days(s.unknown_s),
        _days(s.maintenance_s),
        _ratio(s.sli, locale),
        _ratio(s.sli_worst, locale),
        _ratio(s.unknown_share, locale),
    ]


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub("_", name)[:31] or "_"
    candidate, n = base, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.casefold())
    return candidate


def _fit_width(header: str, values: Iterable[CellValue]) -> float:
    longest = max((len(v) for v in values if isinstance(v, str)), default=0)
    header_need = min(len(header), 24)
    return float(min(max(longest + 2, header_need + 2, 10), 60))


def _write_table(
    book: Workbook,
    name: str,
    cols: Sequence[_Col],
    rows: Sequence[_Row],
    *,
    freeze: str,
    taken: set[str],
    after: Sequence[_Row] = (),
) -> None:
    """A sheet with a header row, ``rows`` under an autofilter, then ``after`` (totals)."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(_sheet_name(name, taken))
    sheet.append([c.header for c in cols])
    header_fill = PatternFill(fill_type="solid", start_color=FILL_HEADER, end_color=FILL_HEADER)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.row_dimensions[1].height = 45
    last_col = get_column_letter(len(cols))
    sheet.auto_filter.ref = f"A1:{last_col}{len(rows) + 1}"
    sheet.freeze_panes = freeze
    tail: list[_Row] = list(after)
    if tail:
        tail.insert(0, _Row([]))
    for row in [*rows, *tail]:
        sheet.append(row.values)
        index = sheet.max_row
        for col_index, col in enumerate(cols):
            cell = sheet.cell(row=index, column=col_index + 1)
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # a name like «=HYPERLINK(…)» is text, not a formula
            elif col.fmt and isinstance(cell.value, int | float | dt.datetime):
                cell.number_format = col.fmt
            if row.bold:
                cell.font = Font(bold=True)
            color = row.fills.get(col_index)
            if color:
                cell.fill = PatternFill(fill_type="solid", start_color=color, end_color=color)
    for col_index, col in enumerate(cols):
        width = col.width or _fit_width(
            col.header, (r.values[col_index] for r in rows if col_index < len(r.values))
        )
        sheet.column_dimensions[get_column_letter(col_index + 1)].width = width


def _about_sheet(book: Workbook, report: UptimeReport, zone: ZoneInfo, locale: str) -> None:
    from openpyxl.styles import Font

    sheet = book.active
    sheet.title = w(locale, "sheet.about")
    sheet.append([_title(report, zone, locale)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    counts = ", ".join(
        f"{kind_plural(k, locale)}: {sum(1 for o in report.objects if o.kind == k)}"
        for k in _kinds(report)
    )
    for key, value in (
        ("meta.period", _period(report, zone, locale)),
        ("meta.zone", report.zone),
        ("meta.generated", fmt_moment(report.generated_at, zone, locale)),
        ("meta.objects", counts or "0"),
    ):
        sheet.append([w(locale, key), value])
    sheet.append([])
    sheet.append([w(locale, "sec.definitions")])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    for key in ("def.sli", "def.sli_worst", "def.unknown_share", "def.disagreement"):
        sheet.append([w(locale, key)])
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 70


def _district_rows(groups: Sequence[GroupUptime], locale: str, *, total: bool) -> list[_Row]:
    return [
        _Row(
            [
                w(locale, "total") if total else g.name,
                kind_label(g.kind, locale),
                g.objects,
                *_seconds_values(g.seconds, locale),
            ],
            bold=total,
        )
        for g in groups
    ]


def _object_sheet(
    book: Workbook, kind: str, objects: Sequence[ObjectUptime], locale: str, taken: set[str]
) -> None:
    with_targets = any(o.sla_target_pct is not None for o in objects)
    cols = [
        _Col(w(locale, "col.key")),
        _Col(w(locale, "col.name")),
        _Col(w(locale, "col.site")),
        _Col(w(locale, "col.organization")),
        _Col(w(locale, "col.district")),
        *_seconds_cols(locale),
    ]
    sli_col = len(cols) - 3
    if with_targets:
        cols += [_Col(w(locale, "col.target"), FMT_TARGET, 11), _Col(w(locale, "col.verdict"))]
    rows: list[_Row] = []
    for obj in sorted(objects, key=lambda o: o.key):
        values: list[CellValue] = [
            obj.key,
            _object_name(obj),
            obj.site or "",
            obj.organization or "",
            obj.district or "",
            *_seconds_values(obj.seconds, locale),
        ]
        fills: dict[int, str] = {}
        if with_targets:
            verdict = _verdict(obj)
            values += [
                _target_fraction(obj.sla_target_pct),
                w(locale, verdict) if verdict else "",
            ]
            if verdict:
                color = FILL_MET if verdict == "met" else FILL_MISSED
                fills = {sli_col: color, len(cols) - 2: color, len(cols) - 1: color}
        rows.append(_Row(values, fills))
    _write_table(book, kind_plural(kind, locale), cols, rows, freeze="C2", taken=taken)


def _failover_sheet(
    book: Workbook, report: UptimeReport, zone: ZoneInfo, locale: str, taken: set[str]
) -> None:
    cols = [
        _Col(w(locale, "col.site")),
        _Col(w(locale, "col.group")),
        _Col(w(locale, "col.switches"), FMT_INT, 13),
        _Col(w(locale, "col.backup"), FMT_DURATION, 13),
        _Col(w(locale, "col.longest"), FMT_DURATION, 13),
        _Col(w(locale, "col.last_backup"), FMT_MOMENT[locale], 18),
        _Col(w(locale, "col.months"), FMT_INT, 16),
    ]
    rows: list[_Row] = []
    for f in _failovers_ordered(report):
        last = f.last_backup_at.astimezone(zone).replace(tzinfo=None) if f.last_backup_at else None
        months: CellValue = (
            w(locale, "never") if f.months_without_exercise is None else f.months_without_exercise
        )
        rows.append(
            _Row(
                [
                    f.site,
                    f.redundancy_group,
                    f.switches,
                    _days(f.backup_s),
                    _days(f.longest_backup_s),
                    last,
                    months,
                ],
                {6: FILL_MISSED} if _stale(f) else {},
            )
        )
    _write_table(book, w(locale, "sheet.failover"), cols, rows, freeze="A2", taken=taken)


def render_xlsx(report: UptimeReport, locale: str = "ru") -> bytes:
    """The report as an XLSX workbook."""
    check_locale(locale)
    import openpyxl

    zone = ZoneInfo(report.zone)
    book = openpyxl.Workbook()
    taken = {w(locale, "sheet.about").casefold()}
    _about_sheet(book, report, zone, locale)
    district_cols = [
        _Col(w(locale, "col.district")),
        _Col(w(locale, "col.kind")),
        _Col(w(locale, "col.objects"), FMT_INT, 10),
        *_seconds_cols(locale),
    ]
    _write_table(
        book,
        w(locale, "sheet.districts"),
        district_cols,
        _district_rows(_groups(report, "district"), locale, total=False),
        freeze="B2",
        taken=taken,
        after=_district_rows(_groups(report, "region"), locale, total=True),
    )
    for kind in _kinds(report):
        _object_sheet(book, kind, [o for o in report.objects if o.kind == kind], locale, taken)
    _failover_sheet(book, report, zone, locale, taken)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# HTML


CSS = """
@page {
  size: A4 landscape;
  margin: 12mm 10mm 14mm 10mm;
  @bottom-right { content: counter(page) " / " counter(pages);
                  font: 8pt "DejaVu Sans", sans-serif; color: #777; }
}
body { font-family: "DejaVu Sans", Verdana, sans-serif; font-size: 9pt; color: #222;
       margin: 0; line-height: 1.3; }
@media screen { body { max-width: 1040px; margin: 16px auto; padding: 0 12px; } }
h1 { font-size: 15pt; margin: 0 0 4pt 0; }
h2 { font-size: 11.5pt; margin: 14pt 0 5pt 0; break-after: avoid; page-break-after: avoid; }
h3 { font-size: 10pt; margin: 8pt 0 2pt 0; break-after: avoid; }
p.meta { color: #444; margin: 0 0 3pt 0; }
p.note { color: #555; margin: 2pt 0 4pt 0; }
figure { margin: 0 0 6pt 0; break-inside: avoid; page-break-inside: avoid; }
svg.chart { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 7.5pt; margin-bottom: 6pt; }
th, td { border: 0.5pt solid #bbb; padding: 1.5pt 3pt; vertical-align: top; text-align: left; }
thead th { background: #e7e6e6; vertical-align: bottom; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.n { text-align: right; white-space: nowrap; }
td.k { white-space: nowrap; }
td.bad { background: #f4cccc; }
td.ok { background: #d9ead3; }
tr.total td { font-weight: bold; background: #f3f3f3; }
ul.defs { color: #444; padding-left: 12pt; margin: 2pt 0; }
"""


@dataclass(frozen=True)
class _Td:
    text: str
    cls: str = ""


def _num(text: str, extra: str = "") -> _Td:
    return _Td(text, f"n {extra}".strip())


def _html_table(headers: Sequence[str], rows: Iterable[tuple[Sequence[_Td], str]]) -> str:
    """A table; each row is (cells, the row's class)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body: list[str] = []
    for cells, row_cls in rows:
        tds = "".join(
            f'<td class="{c.cls}">{escape(c.text)}</td>' if c.cls else f"<td>{escape(c.text)}</td>"
            for c in cells
        )
        body.append(f'<tr class="{row_cls}">{tds}</tr>' if row_cls else f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _ratio_cells(s: Seconds, locale: str) -> list[_Td]:
    return [
        _num(fmt_pct(s.sli, locale)),
        _num(fmt_pct(s.sli_worst, locale)),
        _num(fmt_pct(s.unknown_share, locale)),
    ]


def _ratio_headers(locale: str) -> list[str]:
    return [w(locale, "col.sli"), w(locale, "col.sli_worst"), w(locale, "col.unknown_share")]


def _sli_ticks(lo: float) -> tuple[list[float], int]:
    """Evenly spaced ticks from ``lo`` to 100 % and the decimals their labels need."""
    span = 100.0 - lo
    if span <= 0:
        return [100.0], 0
    step = charts.nice_step(span / 5)
    count = round(span / step)
    digits = max(0, -math.floor(math.log10(step)))
    return [round(lo + k * step, 6) for k in range(count + 1)], digits


def sli_charts(groups: Sequence[GroupUptime], kind: str, locale: str) -> list[str]:
    """Availability by district, worst first, on one axis; split so each part fits a page."""
    ordered = sorted(
        groups, key=lambda g: (g.seconds.sli is None, g.seconds.sli or 0.0, g.name.casefold())
    )
    values = [g.seconds.sli * 100 for g in ordered if g.seconds.sli is not None]
    lo = charts.pct_floor(min(values)) if values else 0.0
    ticks, digits = _sli_ticks(lo)
    bars = [
        charts.Bar(
            label=g.name,
            value=None if g.seconds.sli is None else g.seconds.sli * 100,
            text=fmt_pct(g.seconds.sli, locale),
        )
        for g in ordered
    ]
    return [
        charts.hbar_chart(
            bars[first : first + BARS_PER_CHART],
            lo=lo,
            hi=100.0,
            ticks=ticks,
            tick_text=lambda t: fmt_pct(t / 100, locale, digits),
            caption=f"{w(locale, 'sec.charts_sli')}: {kind_plural(kind, locale)}",
            chart=f"sli-{kind}",
        )
        for first in range(0, len(bars), BARS_PER_CHART)
    ]


def outage_chart(report: UptimeReport, zone: ZoneInfo, locale: str) -> str:
    first = report.start.astimezone(zone).date()
    last = (report.end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    days: set[dt.date] = set(report.outages_by_day)
    if 0 <= (last - first).days <= 400:
        days |= {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}
    columns = [
        charts.Column(
            label=fmt_day(day, locale),
            title=f"{fmt_day(day, locale)}: {report.outages_by_day.get(day, 0)}",
            value=report.outages_by_day.get(day, 0),
        )
        for day in sorted(days)
    ]
    return charts.column_chart(
        columns,
        axis_label=w(locale, "chart.outages_axis"),
        caption=w(locale, "sec.outages"),
        chart="outages",
    )


def _failover_chart(report: UptimeReport, locale: str) -> str | None:
    per_site: dict[str, int] = {}
    stale_sites: set[str] = set()
    for f in report.failovers:
        per_site[f.site] = per_site.get(f.site, 0) + f.switches
        if _stale(f):
            stale_sites.add(f.site)
    top = sorted(((site, n) for site, n in per_site.items() if n > 0), key=lambda p: (-p[1], p[0]))[
        :FAILOVER_TOP
    ]
    if not top:
        return None
    step = charts.nice_step(top[0][1] / 4) if top[0][1] > 4 else 1.0
    hi = step * math.ceil(top[0][1] / step)
    ticks = [step * k for k in range(round(hi / step) + 1)]
    bars = [charts.Bar(label=site, value=float(n), text=fmt_int(n, locale)) for site, n in top]
    return charts.hbar_chart(
        bars,
        lo=0.0,
        hi=hi,
        ticks=ticks,
        tick_text=lambda t: fmt_int(round(t), locale),
        caption=w(locale, "sec.failovers"),
        chart="failovers",
    )


def _worst_section(report: UptimeReport, locale: str) -> list[str]:
    ranked = _worst_first(report.objects)
    shown = ranked[:WORST_LIMIT]
    no_data = [o for o in report.objects if o.seconds.sli is None]
    parts = [f"<h2>{escape(w(locale, 'sec.worst'))}</h2>"]
    note = w(
        locale,
        "note.worst",
        shown=fmt_int(len(shown), locale),
        total=fmt_int(len(report.objects), locale),
    )
    if no_data:
        note += " " + w(locale, "note.no_data", count=fmt_int(len(no_data), locale))
    parts.append(f'<p class="note">{escape(note)}</p>')
    headers = [
        w(locale, "col.kind"),
        w(locale, "col.key"),
        w(locale, "col.name"),
        w(locale, "col.site"),
        w(locale, "col.district"),
        w(locale, "col.down"),
        w(locale, "col.degraded"),
        w(locale, "col.unknown"),
        w(locale, "col.maintenance"),
        *_ratio_headers(locale),
        w(locale, "col.target"),
        w(locale, "col.verdict"),
    ]
    rows: list[tuple[list[_Td], str]] = []
    for obj in shown:
        s = obj.seconds
        verdict = _verdict(obj)
        mark = {"met": "ok", "missed": "bad"}.get(verdict or "", "")
        sli, worst, unknown = _ratio_cells(s, locale)
        rows.append(
            (
                [
                    _Td(kind_label(obj.kind, locale)),
                    _Td(obj.key, "k"),
                    _Td(_object_name(obj)),
                    _Td(obj.site or ""),
                    _Td(obj.district or ""),
                    _num(fmt_duration(s.down_s, locale)),
                    _num(fmt_duration(s.degraded_s, locale)),
                    _num(fmt_duration(s.unknown_s, locale)),
                    _num(fmt_duration(s.maintenance_s, locale)),
                    _num(sli.text, mark),
                    worst,
                    unknown,
                    _num(fmt_target(obj.sla_target_pct, locale), mark),
                    _Td(w(locale, verdict) if verdict else "", f"k {mark}".strip()),
                ],
                "",
            )
        )
    parts.append(_html_table(headers, rows))
    if no_data:
        parts.append(f"<h3>{escape(w(locale, 'sec.no_data'))}</h3>")
        listed = sorted(no_data, key=lambda o: (_kind_rank(o.kind), o.key))[:WORST_LIMIT]
        items = "; ".join(f"{o.key} {o.name}".strip() if o.name else o.key for o in listed) + (
            "; …" if len(no_data) > WORST_LIMIT else ""
        )
        parts.append(f'<p class="note">{escape(items)}</p>')
    return parts


def _district_section(report: UptimeReport, locale: str) -> list[str]:
    parts = [f"<h2>{escape(w(locale, 'sec.districts'))}</h2>"]
    districts = _groups(report, "district")
    region = _groups(report, "region")
    if not districts and not region:
        return [*parts, f'<p class="note">{escape(w(locale, "note.no_districts"))}</p>']
    headers = [
        w(locale, "col.district"),
        w(locale, "col.kind"),
        w(locale, "col.objects"),
        w(locale, "col.down"),
        w(locale, "col.degraded"),
        w(locale, "col.unknown"),
        w(locale, "col.maintenance"),
        *_ratio_headers(locale),
    ]

    def row(g: GroupUptime, total: bool) -> tuple[list[_Td], str]:
        s = g.seconds
        return (
            [
                _Td(w(locale, "total") if total else g.name),
                _Td(kind_label(g.kind, locale)),
                _num(fmt_int(g.objects, locale)),
                _num(fmt_duration(s.down_s, locale)),
                _num(fmt_duration(s.degraded_s, locale)),
                _num(fmt_duration(s.unknown_s, locale)),
                _num(fmt_duration(s.maintenance_s, locale)),
                *_ratio_cells(s, locale),
            ],
            "total" if total else "",
        )

    rows = [row(g, False) for g in districts] + [row(g, True) for g in region]
    parts.append(_html_table(headers, rows))
    return parts


def _failover_section(report: UptimeReport, zone: ZoneInfo, locale: str) -> list[str]:
    parts = [f"<h2>{escape(w(locale, 'sec.failover'))}</h2>"]
    if not report.failovers:
        return [*parts, f'<p class="note">{escape(w(locale, "note.no_failovers"))}</p>']
    parts.append(f'<p class="note">{escape(w(locale, "note.stale"))}</p>')
    headers = [
        w(locale, "col.site"),
        w(locale, "col.group"),
        w(locale, "col.switches"),
        w(locale, "col.backup"),
        w(locale, "col.longest"),
        w(locale, "col.last_backup"),
        w(locale, "col.months"),
    ]
    rows: list[tuple[list[_Td], str]] = []
    for f in _failovers_ordered(report):
        months = (
            w(locale, "never")
            if f.months_without_exercise is None
            else fmt_int(f.months_without_exercise, locale)
        )
        rows.append(
            (
                [
                    _Td(f.site),
                    _Td(f.redundancy_group),
                    _num(fmt_int(f.switches, locale)),
                    _num(fmt_duration(f.backup_s, locale)),
                    _num(fmt_duration(f.longest_backup_s, locale)),
                    _num(fmt_moment(f.last_backup_at, zone, locale)),
                    _num(months, "bad" if _stale(f) else ""),
                ],
                "",
            )
        )
    parts.append(_html_table(headers, rows))
    return parts


def render_html(report: UptimeReport, locale: str = "ru") -> bytes:
    """The report as one standalone HTML page (UTF-8, inline CSS, inline SVG charts)."""
    check_locale(locale)
    zone = ZoneInfo(report.zone)
    heading = _title(report, zone, locale)
    meta = (
        f"{w(locale, 'meta.period')}: {_period(report, zone, locale)} ({report.zone}). "
        f"{w(locale, 'meta.generated')}: {fmt_moment(report.generated_at, zone, locale)}."
    )
    body: list[str] = [f"<h1>{escape(heading)}</h1>", f'<p class="meta">{escape(meta)}</p>']

    body.append(f"<h2>{escape(w(locale, 'sec.charts_sli'))}</h2>")
    districts = _groups(report, "district")
    kinds = sorted({g.kind for g in districts}, key=_kind_rank)
    if not kinds:
        body.append(f'<p class="note">{escape(w(locale, "note.no_districts"))}</p>')
    for kind in kinds:
        parts = sli_charts([g for g in districts if g.kind == kind], kind, locale)
        caption = f"<h3>{escape(kind_plural(kind, locale))}</h3>" if len(kinds) > 1 else ""
        body += [
            f"<figure>{caption if n == 0 else ''}{svg}</figure>" for n, svg in enumerate(parts)
        ]

    body.append(f"<h2>{escape(w(locale, 'sec.outages'))}</h2>")
    if not any(report.outages_by_day.values()):
        body.append(f'<p class="note">{escape(w(locale, "note.no_outages"))}</p>')
    body.append(f"<figure>{outage_chart(report, zone, locale)}</figure>")

    body.append(f"<h2>{escape(w(locale, 'sec.failovers'))}</h2>")
    failover_chart = _failover_chart(report, locale)
    if failover_chart is None:
        body.append(f'<p class="note">{escape(w(locale, "note.no_failovers"))}</p>')
    else:
        body.append(f"<figure>{failover_chart}</figure>")

    body += _worst_section(report, locale)
    body += _district_section(report, locale)
    body += _failover_section(report, zone, locale)
    definitions = "".join(
        f"<li>{escape(w(locale, key))}</li>"
        for key in ("def.sli", "def.sli_worst", "def.unknown_share")
    )
    body.append(f"<h2>{escape(w(locale, 'sec.definitions'))}</h2>")
    body.append(f'<ul class="defs">{definitions}</ul>')

    page = (
        f'<!DOCTYPE html>\n<html lang="{locale}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(heading)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
    return page.encode("utf-8")


def render_pdf(report: UptimeReport, locale: str = "ru") -> bytes:
    """The report as PDF: the HTML of :func:`render_html` rendered by WeasyPrint."""
    return html_to_pdf(render_html(report, locale))
