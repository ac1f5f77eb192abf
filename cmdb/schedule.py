"""Due dates of control points, computed from their recurrence rules (never stored by hand).

Rules, as the regional project passports write them:

* ``once``: one due date.
* ``monthly`` by day N of the next month: one report per calendar month of the validity range;
  e.g. channels of the primary and reserve RIR 2020–2024 are due 15.02.2020 … 15.01.2025.
* ``quarterly`` by day N of the month after the quarter: one report per quarter overlapping the
  validity range (15.04, 15.07, 15.10, 15.01).
* ``yearly`` on DD.MM: every year of the validity range in which that date falls inside it.

A day past the end of a short month is moved to the month's last day (day 31 → 28.02).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cmdb.choices import Recurrence


@dataclass(frozen=True)
class Schedule:
    """The scheduling fields of a control point."""

    recurrence: str
    due_date: dt.date | None = None
    due_day: int | None = None
    due_month: int | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None


@dataclass(frozen=True, order=True)
class Occurrence:
    """One due date and the reporting period it covers (None for one-off points)."""

    due: dt.date
    period_start: dt.date | None
    period_end: dt.date | None


def _day_in(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def iter_occurrences(schedule: Schedule) -> Iterator[Occurrence]:
    """All occurrences of ``schedule`` in due-date order."""
    rule = Recurrence(schedule.recurrence)
    if rule is Recurrence.ONCE:
        if schedule.due_date is not None:
            yield Occurrence(schedule.due_date, None, None)
        return
    start, end, day = schedule.valid_from, schedule.valid_until, schedule.due_day
    if start is None or end is None or day is None:
        return
    if rule is Recurrence.MONTHLY:
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            due_year, due_month = _next_month(year, month)
            yield Occurrence(
                _day_in(due_year, due_month, day), dt.date(year, month, 1), _month_end(year, month)
            )
            year, month = due_year, due_month
    elif rule is Recurrence.QUARTERLY:
        year, quarter = start.year, (start.month - 1) // 3
        while (year, quarter * 3 + 1) <= (end.year, end.month):
            first_month = quarter * 3 + 1
            last_month = first_month + 2
            due_year, due_month = _next_month(year, last_month)
            yield Occurrence(
                _day_in(due_year, due_month, day),
                dt.date(year, first_month, 1),
                _month_end(year, last_month),
            )
            year, quarter = (year + 1, 0) if quarter == 3 else (year, quarter + 1)
    elif rule is Recurrence.YEARLY:
        yearly_month = schedule.due_month
        if yearly_month is None:
            return
        for year in range(start.year, end.year + 1):
            due = _day_in(year, yearly_month, day)
            if start <= due <= end:
                yield Occurrence(due, dt.date(year, 1, 1), dt.date(year, 12, 31))


def occurrences_between(
    schedule: Schedule, first: dt.date | None = None, last: dt.date | None = None
) -> list[Occurrence]:
    """Occurrences whose due date lies in [first, last] (either bound optional)."""
    return [
        occ
        for occ in iter_occurrences(schedule)
        if (first is None or occ.due >= first) and (last is None or occ.due <= last)
    ]


def next_due(schedule: Schedule, today: dt.date) -> Occurrence | None:
    """The first occurrence due on or after ``today``."""
    return next((o for o in iter_occurrences(schedule) if o.due >= today), None)


def merge(items: Iterable[tuple[str, Occurrence]]) -> list[tuple[str, Occurrence]]:
    """Sort (code, occurrence) pairs by due date, then code."""
    return sorted(items, key=lambda pair: (pair[1].due, pair[0]))
