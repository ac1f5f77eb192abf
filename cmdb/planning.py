"""Control-point calendars and indicator plan-versus-fact from the CMDB."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmdb.facts import FACT_QUERIES
from cmdb.models import ControlPoint, Indicator
from cmdb.schedule import Occurrence, Schedule, iter_occurrences


def schedule_of(cp: ControlPoint) -> Schedule:
    """The scheduling fields of a control point."""
    return Schedule(
        recurrence=cp.recurrence,
        due_date=cp.due_date,
        due_day=cp.due_day,
        due_month=cp.due_month,
        valid_from=cp.valid_from,
        valid_until=cp.valid_until,
    )


@dataclass(frozen=True)
class DueItem:
    """A control point's occurrence on the calendar."""

    code: str
    title: str
    evidence: str | None
    responsible: str | None
    occurrence: Occurrence


def calendar(
    engine: Engine, first: dt.date, last: dt.date, code: str | None = None
) -> list[DueItem]:
    """Every control-point occurrence due between ``first`` and ``last``, by due date."""
    query = select(ControlPoint).order_by(ControlPoint.code)
    if code:
        query = query.where(ControlPoint.code == code)
    items: list[DueItem] = []
    with Session(engine) as session:
        for cp in session.scalars(query):
            for occ in iter_occurrences(schedule_of(cp)):
                if first <= occ.due <= last:
                    items.append(DueItem(cp.code, cp.title, cp.evidence, cp.responsible, occ))
    return sorted(items, key=lambda i: (i.occurrence.due, i.code))


@dataclass(frozen=True)
class IndicatorStatus:
    """An indicator's plan for a year next to the fact the CMDB shows now."""

    code: str
    title: str
    unit: str
    year: int
    plan_year: int | None
    plan: Decimal | None
    fact: Decimal | None

    @property
    def met(self) -> bool | None:
        """Whether the fact reaches the plan (None when either is unknown)."""
        if self.plan is None or self.fact is None:
            return None
        return self.fact >= self.plan


def plan_for(plan: dict[str, float], year: int) -> tuple[int, Decimal] | None:
    """The plan value for ``year``, or for the latest earlier year with a plan (it still holds)."""
    years = sorted(int(y) for y in plan if int(y) <= year)
    if not years:
        return None
    return years[-1], Decimal(str(plan[str(years[-1])]))


def indicators(engine: Engine, year: int) -> list[IndicatorStatus]:
    """Plan (for ``year``, or the last plan year before it) and current fact of every indicator."""
    result: list[IndicatorStatus] = []
    with Session(engine) as session:
        for ind in session.scalars(select(Indicator).order_by(Indicator.code)):
            found = plan_for(ind.plan or {}, year)
            query = FACT_QUERIES.get(ind.fact_query or "")
            fact = query.compute(session) if query else None
            result.append(
                IndicatorStatus(
                    ind.code,
                    ind.title,
                    ind.unit,
                    year,
                    found[0] if found else None,
                    found[1] if found else None,
                    fact,
                )
            )
    return result
