"""Due dates of control points against the Krasnodar passport (sections 3.1, 3.2, 3.6, 5.2).

The recurrence rules are pure functions; the calendar and the indicator plans are read from a
migrated database.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from cmdb.planning import calendar, plan_for
from cmdb.schedule import (
    Occurrence,
    Schedule,
    iter_occurrences,
    merge,
    next_due,
    occurrences_between,
)
from tests.factories import control_point, load

d = dt.date

# Schedules as the passport writes them.
CHANNELS_2020_24 = Schedule(
    "monthly", due_day=15, valid_from=d(2020, 1, 1), valid_until=d(2024, 12, 31)
)
CHANNELS_PRIMARY_2019 = Schedule(
    "monthly", due_day=15, valid_from=d(2019, 3, 1), valid_until=d(2019, 12, 31)
)
VIPNET_2019 = Schedule("monthly", due_day=15, valid_from=d(2019, 4, 1), valid_until=d(2019, 12, 31))
MAINTENANCE_2019 = Schedule(
    "quarterly", due_day=15, valid_from=d(2019, 3, 1), valid_until=d(2019, 12, 31)
)
MAINTENANCE_2020_24 = Schedule(
    "quarterly", due_day=15, valid_from=d(2020, 1, 1), valid_until=d(2024, 12, 31)
)
ZSPD_COMMISSIONING = Schedule(
    "yearly", due_day=1, due_month=11, valid_from=d(2019, 1, 1), valid_until=d(2024, 12, 31)
)
ATTESTATION = Schedule("once", due_date=d(2019, 12, 16))


def dues(schedule: Schedule) -> list[dt.date]:
    return [occ.due for occ in iter_occurrences(schedule)]


def previous_month(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the calendar month before ``day``'s month."""
    last = day.replace(day=1) - dt.timedelta(days=1)
    return last.replace(day=1), last


# --- monthly ------------------------------------------------------------------------------------


def test_monthly_channels_2020_2024_one_act_per_month() -> None:
    """1.1.2.3.4: January's act is due 15.02.2020, December 2024's act 15.01.2025."""
    occurrences = list(iter_occurrences(CHANNELS_2020_24))
    assert len(occurrences) == 60
    assert occurrences[0].due == d(2020, 2, 15)
    assert occurrences[-1].due == d(2025, 1, 15)
    assert all(occ.due.day == 15 for occ in occurrences)
    for occ in occurrences:
        assert (occ.period_start, occ.period_end) == previous_month(occ.due)
    # The reporting periods tile the validity range exactly, without gaps or overlaps.
    assert occurrences[0].period_start == d(2020, 1, 1)
    assert occurrences[-1].period_end == d(2024, 12, 31)
    for before, after in itertools.pairwise(occurrences):
        assert after.period_start == before.period_end + dt.timedelta(days=1)


def test_monthly_primary_channels_2019_start_on_15_april() -> None:
    """1.1.2.1.4: service March–December 2019, acts 15.04.2019, 15.05.2019, … 15.01.2020."""
    assert dues(CHANNELS_PRIMARY_2019) == [
        d(2019, 4, 15),
        d(2019, 5, 15),
        d(2019, 6, 15),
        d(2019, 7, 15),
        d(2019, 8, 15),
        d(2019, 9, 15),
        d(2019, 10, 15),
        d(2019, 11, 15),
        d(2019, 12, 15),
        d(2020, 1, 15),
    ]


def test_monthly_vipnet_2019_starts_on_15_may() -> None:
    """1.1.2.7.4: ViPNet 1988 support from 01.04.2019, first act due 15.05.2019."""
    first = next(iter_occurrences(VIPNET_2019))
    assert first == Occurrence(d(2019, 5, 15), d(2019, 4, 1), d(2019, 4, 30))
    assert len(dues(VIPNET_2019)) == 9


def test_monthly_day_31_is_moved_to_the_end_of_short_months() -> None:
    schedule = Schedule("monthly", due_day=31, valid_from=d(2023, 1, 1), valid_until=d(2024, 3, 31))
    by_period = {occ.period_start: occ.due for occ in iter_occurrences(schedule)}
    assert by_period[d(2023, 1, 1)] == d(2023, 2, 28)
    assert by_period[d(2024, 1, 1)] == d(2024, 2, 29)  # leap year
    assert by_period[d(2023, 2, 1)] == d(2023, 3, 31)
    assert by_period[d(2023, 3, 1)] == d(2023, 4, 30)
    assert by_period[d(2024, 3, 1)] == d(2024, 4, 30)
    assert len(by_period) == 15


def test_monthly_validity_starting_mid_month_still_reports_that_month() -> None:
    schedule = Schedule(
        "monthly", due_day=15, valid_from=d(2019, 11, 20), valid_until=d(2019, 12, 5)
    )
    assert list(iter_occurrences(schedule)) == [
        Occurrence(d(2019, 12, 15), d(2019, 11, 1), d(2019, 11, 30)),
        Occurrence(d(2020, 1, 15), d(2019, 12, 1), d(2019, 12, 31)),
    ]


# --- quarterly ----------------------------------------------------------------------------------


def test_quarterly_maintenance_2019() -> None:
    """1.1.1.4.4: quarterly from March 2019, on the 15th of the month after the quarter."""
    assert list(iter_occurrences(MAINTENANCE_2019)) == [
        Occurrence(d(2019, 4, 15), d(2019, 1, 1), d(2019, 3, 31)),
        Occurrence(d(2019, 7, 15), d(2019, 4, 1), d(2019, 6, 30)),
        Occurrence(d(2019, 10, 15), d(2019, 7, 1), d(2019, 9, 30)),
        Occurrence(d(2020, 1, 15), d(2019, 10, 1), d(2019, 12, 31)),
    ]


def test_quarterly_maintenance_2020_2024() -> None:
    """1.1.1.5.4: 15.04, 15.07, 15.10, 15.01 for every quarter of 2020–2024."""
    found = dues(MAINTENANCE_2020_24)
    assert len(found) == 20
    assert found[0] == d(2020, 4, 15)
    assert found[-1] == d(2025, 1, 15)
    assert {(day.month, day.day) for day in found} == {(4, 15), (7, 15), (10, 15), (1, 15)}
    assert found == sorted(found)


# --- yearly and once ----------------------------------------------------------------------------


def test_yearly_commissioning_on_1_november() -> None:
    """1.2.3.1.4: 01.11 every year 2019–2024."""
    occurrences = list(iter_occurrences(ZSPD_COMMISSIONING))
    assert [occ.due for occ in occurrences] == [d(year, 11, 1) for year in range(2019, 2025)]
    assert occurrences[0].period_start == d(2019, 1, 1)
    assert occurrences[0].period_end == d(2019, 12, 31)


def test_yearly_date_outside_the_validity_range_is_excluded() -> None:
    schedule = Schedule(
        "yearly", due_day=1, due_month=11, valid_from=d(2019, 11, 2), valid_until=d(2024, 10, 31)
    )
    # 01.11.2019 is a day before the range, 01.11.2024 a day after it.
    assert dues(schedule) == [d(2020, 11, 1), d(2021, 11, 1), d(2022, 11, 1), d(2023, 11, 1)]


def test_yearly_range_boundaries_are_inclusive() -> None:
    schedule = Schedule(
        "yearly", due_day=1, due_month=11, valid_from=d(2019, 11, 1), valid_until=d(2020, 11, 1)
    )
    assert dues(schedule) == [d(2019, 11, 1), d(2020, 11, 1)]


def test_yearly_29_february_falls_on_28_february_in_common_years() -> None:
    schedule = Schedule(
        "yearly", due_day=29, due_month=2, valid_from=d(2023, 1, 1), valid_until=d(2024, 12, 31)
    )
    assert dues(schedule) == [d(2023, 2, 28), d(2024, 2, 29)]


def test_once_is_a_single_due_date_without_period() -> None:
    """1.1.2.9.4: the attestation, 16.12.2019."""
    assert list(iter_occurrences(ATTESTATION)) == [Occurrence(d(2019, 12, 16), None, None)]


# --- windows and the next due date --------------------------------------------------------------


def test_occurrences_between_includes_both_bounds() -> None:
    found = occurrences_between(CHANNELS_2020_24, d(2020, 2, 15), d(2020, 4, 15))
    assert [occ.due for occ in found] == [d(2020, 2, 15), d(2020, 3, 15), d(2020, 4, 15)]


def test_occurrences_between_excludes_dates_just_outside() -> None:
    found = occurrences_between(CHANNELS_2020_24, d(2020, 2, 16), d(2020, 4, 14))
    assert [occ.due for occ in found] == [d(2020, 3, 15)]


def test_occurrences_between_with_open_bounds() -> None:
    assert len(occurrences_between(CHANNELS_2020_24)) == 60
    from_2024 = occurrences_between(CHANNELS_2020_24, first=d(2024, 1, 1))
    assert [occ.due for occ in from_2024] == [d(2024, m, 15) for m in range(1, 13)] + [
        d(2025, 1, 15)
    ]
    until_april_2020 = occurrences_between(CHANNELS_2020_24, last=d(2020, 4, 15))
    assert [occ.due for occ in until_april_2020] == [d(2020, 2, 15), d(2020, 3, 15), d(2020, 4, 15)]
    assert occurrences_between(CHANNELS_2020_24, d(2025, 1, 16), d(2030, 1, 1)) == []


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(d(2000, 1, 1), d(2020, 2, 15), id="before-the-range"),
        pytest.param(d(2020, 3, 15), d(2020, 3, 15), id="on-the-due-date"),
        pytest.param(d(2020, 3, 16), d(2020, 4, 15), id="day-after-a-due-date"),
        pytest.param(d(2025, 1, 15), d(2025, 1, 15), id="on-the-last-due-date"),
        pytest.param(d(2025, 1, 16), None, id="after-the-last-due-date"),
    ],
)
def test_next_due(today: dt.date, expected: dt.date | None) -> None:
    found = next_due(CHANNELS_2020_24, today)
    assert (found.due if found else None) == expected


def test_next_due_of_a_one_off_point() -> None:
    assert next_due(ATTESTATION, d(2019, 12, 16)) == Occurrence(d(2019, 12, 16), None, None)
    assert next_due(ATTESTATION, d(2019, 12, 17)) is None


def test_merge_orders_by_due_date_then_code() -> None:
    feb = Occurrence(d(2020, 2, 15), d(2020, 1, 1), d(2020, 1, 31))
    jan = Occurrence(d(2020, 1, 15), d(2019, 10, 1), d(2019, 12, 31))
    merged = merge([("1.1.2.8.4", feb), ("1.1.2.3.4", feb), ("1.1.1.4.4", jan)])
    assert merged == [("1.1.1.4.4", jan), ("1.1.2.3.4", feb), ("1.1.2.8.4", feb)]


# --- the calendar from the database -------------------------------------------------------------


@pytest.fixture
def control_points(engine: Engine) -> Engine:
    # Loaded out of date order, so a sorted calendar cannot be an accident of insertion order.
    load(
        engine,
        "control-points",
        [
            control_point(code="1.1.2.8.4", title="Сопровождение узлов сети ViPNet 1988"),
            control_point(
                code="1.1.2.9.4",
                title="Проведена аттестация",
                recurrence="once",
                due_date=d(2019, 12, 16),
                due_day=None,
                valid_from=None,
                valid_until=None,
            ),
            control_point(),  # 1.1.2.3.4, monthly 2020–2024
            control_point(
                code="1.1.1.4.4",
                title="Техническое обслуживание инженерной инфраструктуры основного РИР",
                evidence="Отчёт о функционировании",
                recurrence="quarterly",
                valid_from=d(2019, 3, 1),
                valid_until=d(2019, 12, 31),
            ),
            control_point(
                code="1.2.3.1.4",
                title="Закуплены и введены в эксплуатацию ПТС ЗСПД",
                recurrence="yearly",
                due_day=1,
                due_month=11,
                valid_from=d(2019, 1, 1),
                valid_until=d(2024, 12, 31),
            ),
        ],
    )
    return engine


def test_calendar_lists_occurrences_in_due_date_order(control_points: Engine) -> None:
    items = calendar(control_points, d(2019, 11, 1), d(2020, 2, 29))
    assert [(item.occurrence.due, item.code) for item in items] == [
        (d(2019, 11, 1), "1.2.3.1.4"),
        (d(2019, 12, 16), "1.1.2.9.4"),
        (d(2020, 1, 15), "1.1.1.4.4"),
        (d(2020, 2, 15), "1.1.2.3.4"),
        (d(2020, 2, 15), "1.1.2.8.4"),
    ]
    quarterly = items[2]
    assert quarterly.evidence == "Отчёт о функционировании"
    assert (quarterly.occurrence.period_start, quarterly.occurrence.period_end) == (
        d(2019, 10, 1),
        d(2019, 12, 31),
    )
    assert items[1].title == "Проведена аттестация"


def test_calendar_bounds_are_inclusive(control_points: Engine) -> None:
    items = calendar(control_points, d(2020, 2, 15), d(2020, 2, 15))
    assert [item.code for item in items] == ["1.1.2.3.4", "1.1.2.8.4"]
    assert calendar(control_points, d(2020, 2, 16), d(2020, 3, 14)) == []


def test_calendar_filtered_by_code(control_points: Engine) -> None:
    items = calendar(control_points, d(2020, 1, 1), d(2020, 12, 31), code="1.1.2.8.4")
    assert {item.code for item in items} == {"1.1.2.8.4"}
    assert [item.occurrence.due for item in items] == [d(2020, m, 15) for m in range(2, 13)]
    assert calendar(control_points, d(2019, 1, 1), d(2025, 12, 31), code="9.9.9") == []


def test_calendar_of_an_empty_database(engine: Engine) -> None:
    assert calendar(engine, d(2019, 1, 1), d(2025, 12, 31)) == []


def test_calendar_covers_whole_programme(control_points: Engine) -> None:
    items = calendar(control_points, d(2019, 1, 1), d(2025, 12, 31))
    per_code: dict[str, int] = {}
    for item in items:
        per_code[item.code] = per_code.get(item.code, 0) + 1
    assert per_code == {
        "1.1.1.4.4": 4,
        "1.1.2.3.4": 60,
        "1.1.2.8.4": 60,
        "1.1.2.9.4": 1,
        "1.2.3.1.4": 6,
    }


# --- plan values --------------------------------------------------------------------------------

TVSP_PLAN = {"2019": 22975.0, "2020": 23865.0, "2022": 30994.0}


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        pytest.param(2019, (2019, Decimal(22975)), id="first-plan-year"),
        pytest.param(2020, (2020, Decimal(23865)), id="exact-year"),
        pytest.param(2021, (2020, Decimal(23865)), id="gap-carries-previous-year"),
        pytest.param(2022, (2022, Decimal(30994)), id="last-plan-year"),
        pytest.param(2030, (2022, Decimal(30994)), id="after-the-plan-the-last-value-holds"),
        pytest.param(2018, None, id="before-the-first-plan-year"),
    ],
)
def test_plan_for_carries_the_last_plan_year_forward(
    year: int, expected: tuple[int, Decimal] | None
) -> None:
    assert plan_for(TVSP_PLAN, year) == expected


def test_plan_for_without_any_plan() -> None:
    assert plan_for({}, 2024) is None


def test_plan_for_keeps_decimal_fractions_exact() -> None:
    found = plan_for({"2019": 72.5, "2020": 75.8}, 2020)
    assert found is not None
    assert found[1] == Decimal("75.8")  # not 75.7999999999999971578...


def test_plan_for_orders_years_numerically_not_by_insertion() -> None:
    assert plan_for({"2024": 701.0, "2019": 0.0, "2021": 561.0}, 2023) == (2021, Decimal(561))
