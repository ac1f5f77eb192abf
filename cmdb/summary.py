"""The one-screen summary ``kontur summary`` (and ``make demo``) prints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from cmdb.i18n import fmt_date
from cmdb.kinds import KINDS
from cmdb.planning import DueItem, IndicatorStatus, calendar, indicators
from cmdb.services import Expiry, counts, expiring

#: How far ahead the summary looks for due dates and expiries.
HORIZON_DAYS = 90


@dataclass(frozen=True)
class Summary:
    """What the summary shows."""

    today: dt.date
    counts: dict[str, int]
    indicators: list[IndicatorStatus]
    due: list[DueItem]
    expiring: list[Expiry]


def build_summary(engine: Engine, today: dt.date) -> Summary:
    """Gather the summary for ``today``."""
    return Summary(
        today=today,
        counts=counts(engine),
        indicators=indicators(engine, today.year),
        due=calendar(engine, today, today + dt.timedelta(days=HORIZON_DAYS)),
        expiring=expiring(engine, today, HORIZON_DAYS),
    )


def _num(value: object) -> str:
    text = f"{value:,}".replace(",", "\u00a0") if isinstance(value, int) else str(value)
    return text


def render_summary(s: Summary, locale: str) -> str:
    """The summary as text in ``locale``."""
    ru = locale == "ru"
    lines = [
        (f"Kontur — сводка на {fmt_date(s.today, locale)}" if ru else f"Kontur summary, {s.today}"),
        "",
        "Объекты CMDB:" if ru else "CMDB objects:",
    ]
    for name, count in s.counts.items():
        title = KINDS[name].title_ru if ru else name
        lines.append(f"  {title:<28} {_num(count):>10}")
    lines += ["", (f"Показатели ({s.today.year}):" if ru else f"Indicators ({s.today.year}):")]
    for ind in s.indicators:
        plan = "—" if ind.plan is None else _fmt_dec(ind.plan)
        fact = "—" if ind.fact is None else _fmt_dec(ind.fact)
        mark = {True: "✓", False: "✗", None: " "}[ind.met]
        label = ("план" if ru else "plan") + (f" {ind.plan_year}" if ind.plan_year else "")
        label_fact = "факт" if ru else "fact"
        lines.append(f"  {mark} {ind.code:<10} {label} {plan:>8}  {label_fact} {fact:>8} {ind.unit}  {ind.title[:60]}")
    horizon = f"{HORIZON_DAYS}"
    lines += ["", (f"Контрольные точки на {horizon} дней:" if ru else f"Control points due in {horizon} days:")]
    for item in s.due[:15]:
        lines.append(f"  {fmt_date(item.occurrence.due, locale)}  {item.code:<12} {item.title[:70]}")
    if len(s.due) > 15:
        lines.append(f"  … {len(s.due) - 15}")
    if not s.due:
        lines.append("  —")
    lines += ["", (f"Истекают в ближайшие {horizon} дней:" if ru else f"Expiring within {horizon} days:")]
    what_ru = {
        "attestation": "аттестат",
        "vipnet_keys": "СКИ ViPNet",
        "vipnet_certificate": "сертификат ViPNet",
    }
    for item in s.expiring[:15]:
        what = what_ru.get(item.what, item.what) if ru else item.what
        overdue = " (просрочен)" if ru and item.until < s.today else (" (expired)" if item.until < s.today else "")
        lines.append(f"  {fmt_date(item.until, locale)}  {what:<18} {item.key:<12} {item.name[:50]}{overdue}")
    if len(s.expiring) > 15:
        lines.append(f"  … {len(s.expiring) - 15}")
    if not s.expiring:
        lines.append("  —")
    return "\n".join(lines)


def _fmt_dec(value: object) -> str:
    text = str(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
