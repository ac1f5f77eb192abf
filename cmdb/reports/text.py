"""Words and number formats of the uptime report, in Russian (default) and English.

Russian: dates DD.MM.YYYY HH:MM, a decimal comma and a space before the percent sign
(«99,866 %»), durations «1 ч 23 мин». English: ISO dates, a decimal point («99.866%»),
«1 h 23 min». Every moment is shown in the report's zone.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from cmdb.choices import LABELS_RU

LOCALES: tuple[str, ...] = ("ru", "en")

#: key → (Russian, English)
WORDS: dict[str, tuple[str, str]] = {
    "title.channels": ("Отчёт о доступности каналов связи", "Channel availability report"),
    "title.objects": ("Отчёт о доступности объектов мониторинга", "Availability report"),
    "title.month": ("за {month} {year} г.", "for {month} {year}"),
    "title.period": ("за период {start} – {end}", "for {start} – {end}"),
    "meta.period": ("Период", "Period"),
    "meta.zone": ("Часовой пояс", "Time zone"),
    "meta.generated": ("Сформирован", "Generated"),
    "meta.objects": ("Объектов в отчёте", "Objects in the report"),
    "no_data": ("нет данных", "no data"),
    "never": ("не было", "never"),
    "met": ("выполнено", "met"),
    "missed": ("не выполнено", "missed"),
    "total": ("Итого по региону", "Region total"),
    # sheets and sections
    "sheet.about": ("Сведения", "About"),
    "sheet.districts": ("Районы", "Districts"),
    "sheet.failover": ("Резервирование", "Failover"),
    "sec.charts_sli": ("Доступность по районам", "Availability by district"),
    "sec.outages": ("Отключения по дням", "Outages by day"),
    "sec.failovers": (
        "Переключения на резерв по площадкам (15 наибольших)",
        "Failovers per site (top 15)",
    ),
    "sec.worst": ("Объекты с наименьшей доступностью", "Objects with the lowest availability"),
    "sec.no_data": ("Объекты без данных за период", "Objects with no data for the period"),
    "sec.districts": ("Показатели по районам", "Districts"),
    "sec.failover": ("Резервирование каналов", "Channel redundancy"),
    "sec.definitions": ("Определения", "Definitions"),
    "note.worst": (
        "Показаны {shown} из {total} объектов (по возрастанию доступности).",
        "{shown} of {total} objects shown (lowest availability first).",
    ),
    "note.no_data": (
        "Без данных за весь период: {count}.",
        "No data for the whole period: {count}.",
    ),
    "note.no_failovers": ("Переключений на резерв не было.", "No failovers."),
    "note.no_districts": ("Нет данных по районам.", "No district data."),
    "note.no_outages": ("Отключений не было.", "No outages."),
    "note.stale": (
        "Выделены группы, резерв которых не работал 3 месяца и дольше или не работал никогда.",
        "Highlighted: groups whose backup has not carried traffic for 3 months or more, or never.",
    ),
    "chart.outages_axis": ("отключений", "outages"),
    "chart.switches": ("переключений", "switches"),
    # columns
    "col.district": ("Район", "District"),
    "col.kind": ("Вид объекта", "Object kind"),
    "col.objects": ("Объектов", "Objects"),
    "col.key": ("Ключ", "Key"),
    "col.name": ("Наименование", "Name"),
    "col.site": ("Площадка", "Site"),
    "col.organization": ("Организация", "Organization"),
    "col.up": ("Работает", "Up"),
    "col.disagreement": ("в т. ч. расхождение точек", "of which vantage disagreement"),
    "col.down": ("Не работает", "Down"),
    "col.degraded": ("С ухудшением", "Degraded"),
    "col.unknown": ("Нет данных", "Unknown"),
    "col.maintenance": ("Обслуживание", "Maintenance"),
    "col.sli": ("Доступность (SLI)", "Availability (SLI)"),
    "col.sli_worst": ("SLI, худший случай", "SLI, worst case"),
    "col.unknown_share": ("Доля без данных", "Unknown share"),
    "col.target": ("Цель SLA", "SLA target"),
    "col.verdict": ("Выполнение SLA", "SLA result"),
    "col.group": ("Группа резервирования", "Redundancy group"),
    "col.switches": ("Переключений", "Switches"),
    "col.backup": ("На резерве", "On backup"),
    "col.longest": ("Самое долгое", "Longest stay"),
    "col.last_backup": ("Последний раз на резерве", "Last on backup"),
    "col.months": ("Месяцев без проверки резерва", "Months without exercise"),
    # definitions
    "def.sli": (
        "Доступность (SLI) = работает / (период − обслуживание − нет данных).",
        "Availability (SLI) = up / (period − maintenance − unknown).",
    ),
    "def.sli_worst": (
        "SLI, худший случай = работает / (период − обслуживание): время без данных "
        "считается простоем.",
        "SLI, worst case = up / (period − maintenance): unknown time counted as down.",
    ),
    "def.unknown_share": (
        "Доля без данных = нет данных / (период − обслуживание).",
        "Unknown share = unknown / (period − maintenance).",
    ),
    "def.disagreement": (
        "Расхождение точек: точки наблюдения разошлись (одни видели отказ, другие работу); "
        "это время считается работой и показано отдельно.",
        "Vantage disagreement: the vantage points disagreed (some saw down, some up); "
        "counted as up and shown apart.",
    ),
}

MONTHS_RU = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)
MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: object kind → (Russian plural, English plural): sheet names and chart captions
KIND_PLURALS: dict[str, tuple[str, str]] = {
    "channel": ("Каналы", "Channels"),
    "site": ("Площадки", "Sites"),
    "device": ("Устройства", "Devices"),
    "vipnet_node": ("Узлы ViPNet", "ViPNet nodes"),
    "workstation": ("АРМ", "Workstations"),
}
KIND_SINGULAR_EN: dict[str, str] = {
    "channel": "channel",
    "site": "site",
    "device": "device",
    "vipnet_node": "ViPNet node",
    "workstation": "workstation",
}


def check_locale(locale: str) -> None:
    """Raise ValueError for a locale the report does not speak."""
    if locale not in LOCALES:
        raise ValueError(f"unknown locale {locale!r}; valid: {', '.join(LOCALES)}")


def w(locale: str, key: str, /, **params: object) -> str:
    """The word ``key`` in ``locale``, with ``params`` filled in."""
    ru, en = WORDS[key]
    template = en if locale == "en" else ru
    return template.format(**params) if params else template


def kind_label(kind: str, locale: str) -> str:
    """An object kind for people, singular («канал», «ViPNet node»)."""
    if locale == "en":
        return KIND_SINGULAR_EN.get(kind, kind)
    return LABELS_RU.get(kind, kind)


def kind_plural(kind: str, locale: str) -> str:
    """An object kind for people, plural («Каналы», «ViPNet nodes»)."""
    ru, en = KIND_PLURALS.get(kind, (kind, kind))
    return en if locale == "en" else ru


def _decimal_sep(text: str, locale: str) -> str:
    return text.replace(".", ",") if locale == "ru" else text


def fmt_pct(fraction: float | None, locale: str, digits: int = 3) -> str:
    """A fraction as a percentage: «99,866 %» / «99.866%»; «нет данных» for None.

    Rounding never reaches an extreme the value does not: a channel down for a minute in a month
    (99.99996 %) shows «99,999 %», not «100,000 %»; a sliver of unknown shows «0,001 %», not 0.
    """
    if fraction is None:
        return w(locale, "no_data")
    percent, unit = fraction * 100, 10.0**-digits
    if 0.0 < fraction < 1.0:
        percent = min(max(percent, unit), 100.0 - unit)
    number = _decimal_sep(f"{percent:.{digits}f}", locale)
    return f"{number} %" if locale == "ru" else f"{number}%"


def fmt_target(target: Decimal | None, locale: str) -> str:
    """An SLA target percentage as agreed («99,5 %»); empty when the object has none."""
    if target is None:
        return ""
    number = _decimal_sep(f"{target.normalize():f}", locale)
    return f"{number} %" if locale == "ru" else f"{number}%"


def fmt_int(value: int, locale: str) -> str:
    """An integer with thousands grouped («12 345» / «12,345»)."""
    grouped = f"{value:,}"
    return grouped.replace(",", "\u00a0") if locale == "ru" else grouped


def fmt_duration(seconds: float, locale: str) -> str:
    """A duration for people: «1 ч 23 мин», «45 с», «0»; hours are not folded into days."""
    h_word, m_word, s_word = ("h", "min", "s") if locale == "en" else ("ч", "мин", "с")
    if seconds <= 0:
        return "0"
    if seconds < 60:
        return f"{max(1, round(seconds))} {s_word}"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return f"{minutes} {m_word}"
    if minutes == 0:
        return f"{fmt_int(hours, locale)} {h_word}"
    return f"{fmt_int(hours, locale)} {h_word} {minutes} {m_word}"


def fmt_moment(value: dt.datetime | None, zone: dt.tzinfo, locale: str) -> str:
    """A moment in ``zone`` to the minute: DD.MM.YYYY HH:MM / YYYY-MM-DD HH:MM."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M" if locale == "en" else "%d.%m.%Y %H:%M")


def fmt_day(value: dt.date, locale: str) -> str:
    """A day on a chart axis: «01.10» / «10-01»."""
    return value.strftime("%m-%d" if locale == "en" else "%d.%m")


def title(
    label: str,
    start: dt.datetime,
    end: dt.datetime,
    zone: dt.tzinfo,
    locale: str,
    *,
    channels: bool,
) -> str:
    """«Отчёт о доступности каналов связи за октябрь 2026 г.» (a month) or «… за период …»."""
    head = w(locale, "title.channels" if channels else "title.objects")
    month = re.fullmatch(r"(\d{4})-(\d{2})", label)
    if month and 1 <= int(month[2]) <= 12:
        names = MONTHS_EN if locale == "en" else MONTHS_RU
        tail = w(locale, "title.month", month=names[int(month[2]) - 1], year=month[1])
    else:
        tail = w(
            locale,
            "title.period",
            start=fmt_moment(start, zone, locale),
            end=fmt_moment(end, zone, locale),
        )
    return f"{head} {tail}"
