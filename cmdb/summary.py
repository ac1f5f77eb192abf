"""The one-screen summary ``kontur summary`` (and ``make demo``) prints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine

from cmdb.calendars import ExpiryItem, expiries
from cmdb.i18n import fmt_date
from cmdb.kinds import KINDS
from cmdb.planning import DueItem, IndicatorStatus, calendar, indicators
from cmdb.services import counts

#: How far ahead the summary looks for due dates and expiries.
HORIZON_DAYS = 90


@dataclass(frozen=True)
class Summary:
    """What the summary shows."""

    today: dt.date
    counts: dict[str, int]
    indicators: list[IndicatorStatus]
    due: list[DueItem]
    expiring: list[ExpiryItem]


def build_summary(engine: Engine, today: dt.date) -> Summary:
    """Gather the summary for ``today``."""
    return Summary(
        today=today,
        counts=counts(engine),
        indicators=indicators(engine, today.year),
        due=calendar(engine, today, today + dt.timedelta(days=HORIZON_DAYS)),
        expiring=expiries(engine, today, within=HORIZON_DAYS),
    )


_SHOWN = 15


def _fmt_dec(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _counts(s: Summary, ru: bool) -> list[str]:
    lines = ["Объекты CMDB:" if ru else "CMDB objects:"]
    for name, count in s.counts.items():
        title = KINDS[name].title_ru if ru else name
        lines.append(f"  {title:<28} {count:>10,}".replace(",", "\u00a0"))
    return lines


def _indicator_lines(s: Summary, ru: bool) -> list[str]:
    lines = [f"Показатели ({s.today.year}):" if ru else f"Indicators ({s.today.year}):"]
    for ind in s.indicators:
        plan = "—" if ind.plan is None else _fmt_dec(ind.plan)
        fact = "—" if ind.fact is None else _fmt_dec(ind.fact)
        mark = {True: "✓", False: "✗", None: " "}[ind.met]
        plan_label = ("план" if ru else "plan") + (f" {ind.plan_year}" if ind.plan_year else "")
        fact_label = "факт" if ru else "fact"
        lines.append(
            f"  {mark} {ind.code:<10} {plan_label} {plan:>8}  {fact_label} {fact:>8} {ind.unit}"
            f"  {ind.title[:60]}"
        )
    return lines


def _due_lines(s: Summary, ru: bool, locale: str) -> list[str]:
    lines = [
        f"Контрольные точки на {HORIZON_DAYS} дней:"
        if ru
        else f"Control points due in {HORIZON_DAYS} days:"
    ]
    for item in s.due[:_SHOWN]:
        lines.append(
            f"  {fmt_date(item.occurrence.due, locale)}  {item.code:<12} {item.title[:70]}"
        )
    if len(s.due) > _SHOWN:
        lines.append(f"  … {len(s.due) - _SHOWN}")
    if not s.due:
        lines.append("  —")
    return lines


def _expiry_lines(s: Summary, ru: bool, locale: str) -> list[str]:
    lines = [
        f"Истекают в ближайшие {HORIZON_DAYS} дней:"
        if ru
        else f"Expiring within {HORIZON_DAYS} days:"
    ]
    for exp in s.expiring[:_SHOWN]:
        lines.append(
            f"  {fmt_date(exp.until, locale)}  {exp.kind_label(locale):<18} {exp.key:<14} "
            f"{exp.name[:44]}  {exp.state_label(locale)}"
        )
    if len(s.expiring) > _SHOWN:
        lines.append(f"  … {len(s.expiring) - _SHOWN}")
    if not s.expiring:
        lines.append("  —")
    return lines


def render_summary(s: Summary, locale: str) -> str:
    """The summary as text in ``locale``."""
    ru = locale == "ru"
    title = (
        f"Kontur — сводка на {fmt_date(s.today, locale)}" if ru else f"Kontur summary, {s.today}"
    )
    parts = [
        [title],
        _counts(s, ru),
        _indicator_lines(s, ru),
        _due_lines(s, ru, locale),
        _expiry_lines(s, ru, locale),
    ]
    return "\n\n".join("\n".join(part) for part in parts)
