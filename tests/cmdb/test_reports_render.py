"""The uptime report as XLSX, HTML and PDF: the numbers a reader sees, in Russian and English.

Reports are built by hand with known numbers: October 2026 in Moscow is 31 days = 2,678,400 s.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import logging
import re
import shutil
import subprocess
from decimal import Decimal

import openpyxl
import pytest

from cmdb.reports import render_html, render_pdf, render_xlsx
from cmdb.reports.pdf import html_to_pdf
from cmdb.uptime_types import FailoverStats, GroupUptime, ObjectUptime, Seconds, UptimeReport

MONTH_S = 31 * 86400  # 2,678,400
START = dt.datetime(2026, 9, 30, 21, 0, tzinfo=dt.UTC)  # 01.10.2026 00:00 Moscow
END = dt.datetime(2026, 10, 31, 21, 0, tzinfo=dt.UTC)  # 01.11.2026 00:00 Moscow
GENERATED = dt.datetime(2026, 11, 1, 6, 5, tzinfo=dt.UTC)  # 01.11.2026 09:05 Moscow
RED, GREEN = "FFF4CCCC", "FFD9EAD3"
HOSTILE = "<script>alert('x')</script>"


def channel(
    key: str,
    *,
    down: float = 0.0,
    unknown: float = 0.0,
    maintenance: float = 0.0,
    target: str | None = "99.5",
    name: str | None = None,
    district: str = "Северный район",
) -> ObjectUptime:
    up = MONTH_S - down - unknown - maintenance
    return ObjectUptime(
        kind="channel",
        key=key,
        name=name if name is not None else f"Канал {key}",
        seconds=Seconds(up_s=up, down_s=down, unknown_s=unknown, maintenance_s=maintenance),
        site=f"FAP-{key}",
        district=district,
        organization="ГБУЗ «Северная ЦРБ»",
        sla_target_pct=Decimal(target) if target else None,
    )


def group(level: str, key: str, name: str, members: list[ObjectUptime]) -> GroupUptime:
    fields = ("up_s", "down_s", "degraded_s", "unknown_s", "maintenance_s", "disagreement_s")
    total = {f: sum(getattr(o.seconds, f) for o in members) for f in fields}
    return GroupUptime(
        level=level,
        key=key,
        name=name,
        kind="channel",
        objects=len(members),
        seconds=Seconds(**total),
    )


def make_report(*, with_site: bool = True) -> UptimeReport:
    met = channel("CH-MET", down=3600)  # SLI 2,674,800 / 2,678,400 = 0.998656 → met 99.5
    missed = channel("CH-MISSED", down=36000, district="Южный район")  # 0.986559 → missed
    blind = channel("CH-BLIND", unknown=MONTH_S)  # nothing known: SLI None
    hostile = channel("CH-HOSTILE", unknown=86400, name=HOSTILE, district="Южный район")
    objects = [met, missed, blind, hostile]
    if with_site:
        objects.append(
            ObjectUptime(
                kind="site",
                key="FAP-0001",
                name="ФАП д. Берёзовка",
                seconds=Seconds(up_s=MONTH_S - 600, down_s=600),
                district="Северный район",
            )
        )
    north = [met, blind]
    south = [missed, hostile]
    return UptimeReport(
        start=START,
        end=END,
        zone="Europe/Moscow",
        label="2026-10",
        generated_at=GENERATED,
        objects=objects,
        groups=[
            group("district", "north", "Северный район", north),
            group("district", "south", "Южный район", south),
            group("region", "region", "Регион", north + south),
        ],
        failovers=[
            FailoverStats("FAP-STALE", "основной+LTE", 0, 0.0, 0.0, None, 5),
            FailoverStats(
                "FAP-BUSY",
                "основной+LTE",
                7,
                5400.0,
                3600.0,
                dt.datetime(2026, 10, 20, 9, 30, tzinfo=dt.UTC),
                0,
            ),
            FailoverStats("FAP-NEVER", "основной+спутник", 0, 0.0, 0.0, None, None),
            FailoverStats("FAP-RECENT", "основной+LTE", 2, 600.0, 600.0, START, 1),
        ],
        outages_by_day={dt.date(2026, 10, 3): 2, dt.date(2026, 10, 17): 5},
    )


def sheet_rows(
    data: bytes, sheet: str
) -> tuple[list[str], dict[str, tuple[openpyxl.cell.Cell, ...]]]:
    """(header, data rows by their first cell) of one sheet."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    ws = book[sheet]
    header = [c.value for c in ws[1]]
    rows = {str(r[0].value): r for r in ws.iter_rows(min_row=2) if r[0].value is not None}
    return header, rows


def cell(header: list[str], row: tuple[openpyxl.cell.Cell, ...], column: str) -> openpyxl.cell.Cell:
    return row[header.index(column)]


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_has_a_sheet_per_kind_with_russian_headers_frozen_and_filtered() -> None:
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(make_report())))

    assert book.sheetnames == ["Сведения", "Районы", "Каналы", "Площадки", "Резервирование"]
    assert (
        book["Сведения"]["A1"].value
        == "Отчёт о доступности объектов мониторинга за октябрь 2026 г."
    )
    channels = book["Каналы"]
    header = [c.value for c in channels[1]]
    assert header[:5] == ["Ключ", "Наименование", "Площадка", "Организация", "Район"]
    for column in ("Не работает", "Нет данных", "Доступность (SLI)", "SLI, худший случай",
                   "Доля без данных", "Цель SLA", "Выполнение SLA"):  # fmt: skip
        assert column in header
    assert channels.freeze_panes == "C2"
    assert channels.auto_filter.ref == "A1:P5"  # 16 columns, 4 channels
    assert channels.column_dimensions["B"].width >= len("Канал CH-MISSED")
    districts = book["Районы"]
    assert [c.value for c in districts[1]][:3] == ["Район", "Вид объекта", "Объектов"]
    assert districts.freeze_panes == "B2"
    # sites have no SLA target: no target columns, but the unknown share is there
    site_header = [c.value for c in book["Площадки"][1]]
    assert "Цель SLA" not in site_header
    assert "Доля без данных" in site_header


def test_xlsx_carries_the_exact_numbers_with_formats() -> None:
    header, rows = sheet_rows(render_xlsx(make_report()), "Каналы")
    met = rows["CH-MET"]

    sli = cell(header, met, "Доступность (SLI)")
    assert sli.value == pytest.approx((MONTH_S - 3600) / MONTH_S)  # 0.998656…
    assert f"{sli.value:.6f}" == "0.998656"
    assert sli.number_format == "0.000%"
    down = cell(header, met, "Не работает")
    assert down.value == dt.timedelta(hours=1)
    assert down.number_format == "[h]:mm:ss"
    assert cell(header, met, "Работает").value == dt.timedelta(seconds=MONTH_S - 3600)
    assert cell(header, met, "Доля без данных").value == 0
    assert cell(header, met, "Цель SLA").value == pytest.approx(0.995)

    hostile = rows["CH-HOSTILE"]  # a day unknown: SLI 1, worst case 30/31, unknown 1/31
    assert cell(header, hostile, "Наименование").value == HOSTILE
    assert cell(header, hostile, "Доступность (SLI)").value == pytest.approx(1.0)
    assert cell(header, hostile, "SLI, худший случай").value == pytest.approx(30 / 31)
    assert cell(header, hostile, "Доля без данных").value == pytest.approx(1 / 31)

    d_header, districts = sheet_rows(render_xlsx(make_report()), "Районы")
    south = districts["Южный район"]
    assert cell(d_header, south, "Объектов").value == 2
    assert cell(d_header, south, "Доступность (SLI)").value == pytest.approx(
        (2 * MONTH_S - 36000 - 86400) / (2 * MONTH_S - 86400)
    )
    assert cell(d_header, south, "Доля без данных").value == pytest.approx(86400 / (2 * MONTH_S))
    total = districts["Итого по региону"]
    assert cell(d_header, total, "Объектов").value == 4
    assert total[0].font.bold


def test_xlsx_fills_missed_targets_red_and_met_green() -> None:
    header, rows = sheet_rows(render_xlsx(make_report()), "Каналы")

    for key, verdict, color in (("CH-MET", "выполнено", GREEN), ("CH-MISSED", "не выполнено", RED)):
        row = rows[key]
        assert cell(header, row, "Выполнение SLA").value == verdict
        for column in ("Доступность (SLI)", "Цель SLA", "Выполнение SLA"):
            assert cell(header, row, column).fill.fgColor.rgb == color, (key, column)
        assert cell(header, row, "Ключ").fill.fill_type is None
    blind = rows["CH-BLIND"]
    assert cell(header, blind, "Доступность (SLI)").value == "нет данных"
    assert cell(header, blind, "SLI, худший случай").value == 0
    assert cell(header, blind, "Доля без данных").value == 1
    assert cell(header, blind, "Выполнение SLA").value in (None, "")
    assert cell(header, blind, "Доступность (SLI)").fill.fill_type is None


def test_xlsx_failover_sheet_highlights_unexercised_backups() -> None:
    header, rows = sheet_rows(render_xlsx(make_report()), "Резервирование")
    months = "Месяцев без проверки резерва"

    assert header[:3] == ["Площадка", "Группа резервирования", "Переключений"]
    assert cell(header, rows["FAP-STALE"], months).value == 5
    assert cell(header, rows["FAP-STALE"], months).fill.fgColor.rgb == RED
    assert cell(header, rows["FAP-NEVER"], months).value == "не было"
    assert cell(header, rows["FAP-NEVER"], months).fill.fgColor.rgb == RED
    assert cell(header, rows["FAP-RECENT"], months).fill.fill_type is None
    busy = rows["FAP-BUSY"]
    assert cell(header, busy, "Переключений").value == 7
    assert cell(header, busy, "На резерве").value == dt.timedelta(seconds=5400)
    last = cell(header, busy, "Последний раз на резерве")
    assert last.value == dt.datetime(2026, 10, 20, 12, 30)  # Moscow time
    assert last.number_format == "DD.MM.YYYY HH:MM"


def test_xlsx_keeps_a_formula_like_name_as_text() -> None:
    report = make_report()
    report.objects.append(channel("CH-EQ", name='=HYPERLINK("http://evil.example","x")'))
    header, rows = sheet_rows(render_xlsx(report), "Каналы")
    name = cell(header, rows["CH-EQ"], "Наименование")

    assert name.data_type == "s"
    assert name.value == '=HYPERLINK("http://evil.example","x")'


def test_xlsx_in_english() -> None:
    data = render_xlsx(make_report(), locale="en")
    book = openpyxl.load_workbook(io.BytesIO(data))

    assert book.sheetnames == ["About", "Districts", "Channels", "Sites", "Failover"]
    header, rows = sheet_rows(data, "Channels")
    assert header[:2] == ["Key", "Name"]
    assert {"Availability (SLI)", "SLI, worst case", "Unknown share", "SLA target"} <= set(header)
    assert cell(header, rows["CH-MET"], "SLA result").value == "met"
    assert cell(header, rows["CH-MISSED"], "SLA result").value == "missed"
    assert cell(header, rows["CH-BLIND"], "Availability (SLI)").value == "no data"
    assert book["About"]["A1"].value == "Availability report for October 2026"


def test_unknown_locale_is_refused() -> None:
    with pytest.raises(ValueError, match="valid: ru, en"):
        render_html(make_report(), locale="de")


# --- HTML -------------------------------------------------------------------------------------


def svg(html: str, chart: str) -> str:
    found = re.search(rf'<svg [^>]*data-chart="{chart}".*?</svg>', html, re.DOTALL)
    assert found, f"no {chart} chart"
    return found[0]


def test_html_shows_the_numbers_russian_style() -> None:
    html = render_html(make_report(with_site=False)).decode("utf-8")

    assert html.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in html
    assert "<h1>Отчёт о доступности каналов связи за октябрь 2026 г.</h1>" in html
    assert "01.10.2026 00:00 – 01.11.2026 00:00 (Europe/Moscow)" in html
    assert "Сформирован: 01.11.2026 09:05" in html
    assert "99,866 %" in html  # CH-MET
    assert "98,656 %" in html  # CH-MISSED
    assert "96,774 %" in html  # CH-HOSTILE worst case, 30/31
    assert "3,226 %" in html  # CH-HOSTILE unknown share, 1/31
    assert "99,5 %" in html  # the target
    assert ">10 ч</td>" in html  # CH-MISSED down
    assert ">не выполнено</td>" in html
    assert "нет данных" in html  # CH-BLIND
    assert "<style>" in html
    assert "<link" not in html
    assert "src=" not in html  # standalone: nothing to fetch


def test_html_shows_the_unknown_share_in_every_table() -> None:
    html = render_html(make_report()).decode("utf-8")
    tables = re.findall(r"<table>.*?</table>", html, re.DOTALL)

    assert len(tables) == 3  # worst objects, districts, failovers
    for table in tables[:2]:
        assert "<th>Доля без данных</th>" in table
        assert "<th>SLI, худший случай</th>" in table


def test_html_charts_are_inline_svg_with_one_bar_per_district() -> None:
    html = render_html(make_report()).decode("utf-8")

    sli = svg(html, "sli-channel")
    assert sli.count('class="bar"') == 2  # Северный, Южный
    assert "Северный район" in sli
    assert "Южный район" in sli
    bars = dict(re.findall(r'<rect class="bar" [^>]*width="([\d.]+)".*?<title>([^:<]+):', sli))
    assert len(bars) == 2
    widths = {name: float(width) for width, name in bars.items()}
    # the south (99.317 %) is visibly shorter than the north (99.866 %) on a 99…100 % axis
    assert widths["Южный район"] < widths["Северный район"] / 2
    outages = svg(html, "outages")
    assert outages.count('class="column"') == 2  # days with outages
    assert "03.10: 2" in outages
    assert "17.10: 5" in outages
    assert "01.10" in outages  # the axis covers the month
    failovers = svg(html, "failovers")
    assert failovers.count('class="bar"') == 2  # sites that switched: FAP-BUSY, FAP-RECENT


def test_html_splits_a_long_district_chart_to_fit_pages() -> None:
    report = make_report(with_site=False)
    names = [f"Район {n:02d}" for n in range(30)]
    report.groups.extend(
        group("district", name, name, [channel(name, down=60.0 * n)])
        for n, name in enumerate(names)
    )
    html = render_html(report).decode("utf-8")
    parts = re.findall(r'<svg [^>]*data-chart="sli-channel".*?</svg>', html, re.DOTALL)

    assert [part.count('class="bar"') for part in parts] == [25, 7]  # 30 + north and south
    assert parts[0].count(">99,0 %<") == parts[1].count(">99,0 %<") == 1  # one axis: 99…100 %


def test_html_rounding_never_claims_a_perfect_or_a_clean_month() -> None:
    report = make_report(with_site=False)
    report.objects.append(channel("CH-MINUTE", down=1.0, unknown=1.0, target=None))
    html = render_html(report).decode("utf-8")
    row = re.search(r"CH-MINUTE.*?</tr>", html, re.DOTALL)

    assert row is not None
    assert row[0].count(">99,999 %<") == 2  # SLI and worst case, not 100,000 %
    assert ">0,001 %<" in row[0]  # unknown share, not 0,000 %
    assert ">1 с<" in row[0]


def test_html_escapes_hostile_names() -> None:
    report = make_report()
    report.failovers.append(
        FailoverStats('<img src="x" onerror="y">', HOSTILE, 3, 1.0, 1.0, None, 0)
    )
    report.groups.append(group("district", "evil", "<b>Злой</b> район", report.objects[:1]))
    html = render_html(report).decode("utf-8")

    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Злой&lt;/b&gt; район" in svg(html, "sli-channel")
    assert "&lt;img src=&quot;x&quot;" in svg(html, "failovers")


def test_html_lists_the_50_worst_and_says_how_many_there_are() -> None:
    report = make_report(with_site=False)
    report.objects.extend(channel(f"CH-{n:03d}", down=60.0 * n) for n in range(60))
    html = render_html(report).decode("utf-8")
    worst = re.findall(r"<table>.*?</table>", html, re.DOTALL)[0]
    keys = re.findall(r'<td class="k">(CH-[^<]+)</td>', worst)

    assert "Показаны 50 из 64 объектов" in html
    assert "Без данных за весь период: 1." in html
    assert len(keys) == 50
    assert keys[:3] == ["CH-MISSED", "CH-MET", "CH-059"]  # lowest SLI first
    assert "CH-HOSTILE" not in keys  # SLI 100 %: not among the worst 50
    assert "CH-BLIND" not in keys  # no SLI: listed apart
    assert "Объекты без данных за период" in html


def test_html_in_english() -> None:
    html = render_html(make_report(with_site=False), locale="en").decode("utf-8")

    assert '<html lang="en">' in html
    assert "<h1>Channel availability report for October 2026</h1>" in html
    assert "2026-10-01 00:00 – 2026-11-01 00:00" in html
    assert "99.866%" in html
    assert "99,866" not in html
    assert ">10 h</td>" in html
    assert "<th>Unknown share</th>" in html
    assert "no data" in html
    assert "10-17: 5" in svg(html, "outages")


def test_a_period_that_is_not_a_month_is_named_by_its_dates() -> None:
    report = make_report(with_site=False)
    week = UptimeReport(
        start=START,
        end=START + dt.timedelta(days=7),
        zone=report.zone,
        label="2026-10-01–2026-10-08",
        generated_at=GENERATED,
        objects=report.objects,
    )
    html = render_html(week).decode("utf-8")

    assert "за период 01.10.2026 00:00 – 08.10.2026 00:00" in html
    assert "Нет данных по районам." in html
    assert "Переключений на резерв не было." in html


# --- PDF --------------------------------------------------------------------------------------

#: WeasyPrint warns at import when Debian's libharfbuzz-subset0 is missing (it then subsets
#: fonts with fontTools): a note about its future versions, not a fault of the report.
WITHOUT_HB_SUBSET = pytest.mark.filterwarnings(
    "ignore:HarfBuzz-Subset will be required:DeprecationWarning"
)


def require_weasyprint() -> None:
    try:
        importlib.import_module("weasyprint")
    except (ImportError, OSError) as exc:
        pytest.skip(f"WeasyPrint cannot be imported ({exc}); pip install weasyprint")


def pdf_text(pdf: bytes) -> str:
    assert shutil.which("pdftotext"), "pdftotext is missing: apt-get install poppler-utils"
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


@WITHOUT_HB_SUBSET
def test_pdf_renders_cyrillic_headings_and_percentages() -> None:
    require_weasyprint()
    pdf = render_pdf(make_report(with_site=False))
    text = pdf_text(pdf)

    assert pdf.startswith(b"%PDF")
    assert "Отчёт о доступности каналов связи за октябрь 2026 г." in text
    assert "Доля без данных" in text
    assert "99,866 %" in text
    assert "нет данных" in text


@WITHOUT_HB_SUBSET
def test_pdf_in_english() -> None:
    require_weasyprint()
    text = pdf_text(render_pdf(make_report(), locale="en"))

    assert "Availability report for October 2026" in text
    assert "99.866%" in text


@WITHOUT_HB_SUBSET
def test_pdf_renderer_fetches_no_url(caplog: pytest.LogCaptureFixture) -> None:
    require_weasyprint()
    urls = ("file:///etc/hostname", "http://127.0.0.1:9/x.png")
    document = "<p>x</p>" + "".join(f'<img src="{url}">' for url in urls)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = html_to_pdf(document.encode("utf-8"))

    assert pdf.startswith(b"%PDF")
    messages = [r.getMessage() for r in caplog.records]
    for url in urls:
        assert any(url in m and "disallowed protocol" in m for m in messages), messages
