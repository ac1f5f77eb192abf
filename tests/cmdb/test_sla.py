"""Availability maths (docs/sla.md): exact seconds against a brute-force per-second reading.

The reference below walks an interval one second at a time and asks, for each second, what every
vantage said and whether a maintenance window covers it. It shares no code with ``cmdb.sla``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from cmdb.bulk import bulk_insert
from cmdb.choices import State
from cmdb.ledger import Ledger, Observation, Policy
from cmdb.models import FailoverEvent, StatusTransition
from cmdb.sla import (
    MAX_VANTAGES,
    build_uptime_report,
    compute_seconds,
    failover_stats,
    month_bounds,
    object_seconds,
)
from cmdb.uptime_types import Seconds, UptimeReport
from tests.factories import load, make_world

MSK = ZoneInfo("Europe/Moscow")
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
OCT_START = dt.datetime(2026, 9, 30, 21, tzinfo=UTC)  # 01.10.2026 00:00 Moscow
OCT_END = dt.datetime(2026, 10, 31, 21, tzinfo=UTC)  # 01.11.2026 00:00 Moscow
OCTOBER = 31 * 86400
STATES = ("up", "down", "degraded", "unknown")


def msk(day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0, *,
        month: int = 10) -> dt.datetime:  # fmt: skip
    """A moment given in Moscow time (2026), as aware UTC."""
    return dt.datetime(2026, month, day, hour, minute, second, us, tzinfo=MSK).astimezone(UTC)


# --- the brute-force reference --------------------------------------------------------------


def brute_force(
    start: int,
    end: int,
    transitions: Mapping[str, Sequence[tuple[int, str]]],
    initial: Mapping[str, str],
    maintenance: Sequence[tuple[int, int]],
) -> dict[str, int]:
    """Seconds per category of [start, end), integer seconds, one second at a time."""
    vantages = sorted(set(transitions) | set(initial))
    per_vantage: list[list[str]] = []
    for vantage in vantages:
        changes = sorted(transitions.get(vantage, ()))
        state, i, states = initial.get(vantage, "unknown"), 0, []
        for second in range(start, end):
            while i < len(changes) and changes[i][0] <= second:
                state = changes[i][1]
                i += 1
            states.append(state)
        per_vantage.append(states)
    counts = dict.fromkeys(("up", "down", "degraded", "unknown", "maintenance", "disagreement"), 0)
    for n, second in enumerate(range(start, end)):
        if any(a <= second < b for a, b in maintenance):
            counts["maintenance"] += 1
            continue
        seen = [states[n] for states in per_vantage if states[n] != "unknown"]
        if not seen:
            counts["unknown"] += 1
        elif "up" in seen:
            counts["up"] += 1
        elif "degraded" in seen:
            counts["degraded"] += 1
        else:
            counts["down"] += 1
        if "down" in seen and ("up" in seen or "degraded" in seen):
            counts["disagreement"] += 1
    return counts


def as_counts(seconds: Seconds) -> dict[str, float]:
    return {
        "up": seconds.up_s,
        "down": seconds.down_s,
        "degraded": seconds.degraded_s,
        "unknown": seconds.unknown_s,
        "maintenance": seconds.maintenance_s,
        "disagreement": seconds.disagreement_s,
    }


def at(second: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=second)


# Intervals around the October/November boundary in Moscow, so that they often cross it.
BOUNDARY = int((OCT_END - EPOCH).total_seconds())
HOUR = 3600


@st.composite
def ledgers(draw: st.DrawFn, max_vantages: int = 3) -> dict[str, Any]:
    start = BOUNDARY + draw(st.integers(-3 * HOUR, HOUR))
    end = start + draw(st.integers(1, 3 * HOUR))
    names = draw(
        st.lists(st.sampled_from(["dc-primary", "dc-reserve", "v3", "v4", "v5"]),
                 min_size=1, max_size=max_vantages, unique=True)
    )  # fmt: skip
    transitions = {
        name: draw(
            st.lists(
                st.tuples(st.integers(BOUNDARY - 4 * HOUR, BOUNDARY + 4 * HOUR),
                          st.sampled_from(STATES)),
                max_size=12,
                unique_by=lambda change: change[0],
            )
        )
        for name in names
    }  # fmt: skip
    initial = {name: draw(st.sampled_from(STATES)) for name in names if draw(st.booleans())}
    maintenance = draw(
        st.lists(
            st.tuples(st.integers(BOUNDARY - 4 * HOUR, BOUNDARY + 4 * HOUR),
                      st.integers(1, 2 * HOUR)).map(lambda w: (w[0], w[0] + w[1])),
            max_size=3,
        )
    )  # fmt: skip
    return {
        "start": start, "end": end, "transitions": transitions, "initial": initial,
        "maintenance": maintenance,
    }  # fmt: skip


def check_against_reference(case: dict[str, Any]) -> None:
    seconds = compute_seconds(
        at(case["start"]),
        at(case["end"]),
        {v: [(at(t), s) for t, s in changes] for v, changes in case["transitions"].items()},
        initial=case["initial"],
        maintenance=[(at(a), at(b)) for a, b in case["maintenance"]],
    )
    expected = brute_force(
        case["start"], case["end"], case["transitions"], case["initial"], case["maintenance"]
    )
    assert as_counts(seconds) == expected
    assert seconds.period_s == case["end"] - case["start"]


@settings(max_examples=400, deadline=None)
@given(ledgers())
def test_compute_seconds_matches_the_per_second_reference(case: dict[str, Any]) -> None:
    check_against_reference(case)


@settings(max_examples=60, deadline=None)
@given(ledgers(max_vantages=5))
def test_many_vantages_match_the_reference_too(case: dict[str, Any]) -> None:
    check_against_reference(case)


def test_reference_agrees_on_a_hand_example() -> None:
    # Guards the reference itself: 10 s, primary down for 3 s, reserve down 2 of them.
    counts = brute_force(
        0, 10, {"a": [(2, "down"), (5, "up")], "b": [(3, "down"), (5, "up")]},
        {"a": "up", "b": "up"}, [(8, 9)],
    )  # fmt: skip
    assert counts == {
        "up": 7, "down": 2, "degraded": 0, "unknown": 0, "maintenance": 1, "disagreement": 1,
    }  # fmt: skip


# --- exact details ----------------------------------------------------------------------------


def test_microseconds_are_kept_exactly() -> None:
    start = msk(5, 10)
    seconds = compute_seconds(
        start,
        start + dt.timedelta(seconds=1),
        {"a": [(start + dt.timedelta(microseconds=1), "down"),
               (start + dt.timedelta(microseconds=3), "up")]},
        initial={"a": "up"},
    )  # fmt: skip
    assert seconds.down_s == 2e-6
    assert seconds.up_s == 0.999998
    assert seconds.disagreement_s == 0.0


def test_down_only_when_every_vantage_with_data_says_down() -> None:
    start = msk(5)
    hour = dt.timedelta(hours=1)
    seconds = compute_seconds(
        start,
        start + 4 * hour,
        {
            "dc-primary": [(start, "down")],
            # the reserve sees it up for an hour, then has no data, then sees it down
            "dc-reserve": [(start, "up"), (start + hour, "unknown"), (start + 2 * hour, "down"),
                           (start + 3 * hour, "degraded")],
        },
    )  # fmt: skip
    assert seconds == Seconds(
        up_s=3600, down_s=7200, degraded_s=3600, unknown_s=0, maintenance_s=0,
        disagreement_s=7200,
    )  # fmt: skip


def test_maintenance_wins_and_overlapping_windows_count_once() -> None:
    start = msk(7)
    hour = dt.timedelta(hours=1)
    seconds = compute_seconds(
        start,
        start + 10 * hour,
        {"a": [(start + 2 * hour, "down")]},
        initial={"a": "up"},
        maintenance=[(start + hour, start + 4 * hour), (start + 3 * hour, start + 5 * hour),
                     (start - hour, start + dt.timedelta(minutes=30))],
    )  # fmt: skip
    assert seconds.maintenance_s == 1800 + 4 * 3600
    assert seconds.up_s == 1800
    assert seconds.down_s == 5 * 3600
    assert seconds.unknown_s == 0


def test_no_data_at_all_is_unknown_never_up() -> None:
    seconds = compute_seconds(OCT_START, OCT_END, {})
    assert seconds == Seconds(unknown_s=OCTOBER)
    assert seconds.sli is None
    assert seconds.sli_worst == 0.0
    assert seconds.unknown_share == 1.0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        compute_seconds(dt.datetime(2026, 10, 1), OCT_END, {})
    with pytest.raises(ValueError, match="empty interval"):
        compute_seconds(OCT_END, OCT_START, {})
    with pytest.raises(ValueError, match="not a valid State"):
        compute_seconds(OCT_START, OCT_END, {"a": [(OCT_START, "broken")]})


# --- month boundaries -----------------------------------------------------------------------


def test_october_2026_in_moscow_is_31_days_exactly() -> None:
    start, end = month_bounds("2026-10", MSK)
    assert (start, end) == (OCT_START, OCT_END)
    assert (end - start).total_seconds() == OCTOBER
    assert month_bounds("10.2026", MSK) == (start, end)
    november, _ = month_bounds("2026-11", MSK)
    assert november == end  # months tile time: no gap, no overlap


def test_the_last_second_of_october_belongs_to_october() -> None:
    last = msk(31, 23, 59, 59)
    assert OCT_START <= last < OCT_END
    ledger = {"a": [(msk(1), "up"), (last, "down")]}
    october = compute_seconds(OCT_START, OCT_END, ledger)
    assert october.down_s == 1.0
    assert october.up_s == OCTOBER - 1
    nov_start, nov_end = month_bounds("2026-11", MSK)
    november = compute_seconds(nov_start, nov_end, ledger)
    assert november.down_s == 30 * 86400  # still down: the state carries over the boundary


@pytest.mark.parametrize(
    ("month", "zone", "first_utc", "seconds"),
    [
        ("2026-12", "Europe/Moscow", dt.datetime(2026, 11, 30, 21, tzinfo=UTC), 31 * 86400),
        ("2028-02", "Europe/Moscow", dt.datetime(2028, 1, 31, 21, tzinfo=UTC), 29 * 86400),
        ("2026-10", "Asia/Yekaterinburg", dt.datetime(2026, 9, 30, 19, tzinfo=UTC), 31 * 86400),
        ("2026-10", "Europe/Kaliningrad", dt.datetime(2026, 9, 30, 22, tzinfo=UTC), 31 * 86400),
        # a zone with DST: October has its extra hour
        ("2026-10", "Europe/Berlin", dt.datetime(2026, 9, 30, 22, tzinfo=UTC), 31 * 86400 + 3600),
    ],
)
def test_month_bounds_in_other_zones(
    month: str, zone: str, first_utc: dt.datetime, seconds: int
) -> None:
    start, end = month_bounds(month, ZoneInfo(zone))
    assert start == first_utc
    assert (end - start).total_seconds() == seconds


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-10", "2026/10", "", "октябрь", "2026"])
def test_bad_months_are_refused_clearly(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds(text, MSK)


# --- the worked example of docs/sla.md ------------------------------------------------------


def worked_example(*, primary_stopped: bool) -> Seconds:
    primary: list[tuple[dt.datetime, str]] = [(msk(5, 10), "down"), (msk(5, 11), "up")]
    if primary_stopped:
        primary += [(msk(12, 3), "unknown"), (msk(12, 9), "up")]
    primary += [(msk(25, 8), "degraded"), (msk(25, 8, 30), "up")]
    reserve = [
        (msk(5, 10, 0, 20), "down"), (msk(5, 11, 0, 5), "up"), (msk(12, 3), "unknown"),
        (msk(12, 9), "up"), (msk(25, 8), "degraded"), (msk(25, 8, 30), "up"),
    ]  # fmt: skip
    return compute_seconds(
        OCT_START,
        OCT_END,
        {"dc-primary": primary, "dc-reserve": reserve},
        initial={"dc-primary": "up", "dc-reserve": "up"},
        maintenance=[(msk(20, 12), msk(20, 14))],
    )


def test_the_worked_example_of_the_docs() -> None:
    seconds = worked_example(primary_stopped=False)
    assert seconds == Seconds(
        up_s=2_665_820, down_s=3580, degraded_s=1800, unknown_s=0, maintenance_s=7200,
        disagreement_s=25,
    )  # fmt: skip
    assert seconds.sli is not None
    assert round(seconds.sli, 6) == 0.997986
    assert seconds.sli_worst == seconds.sli
    assert seconds.unknown_share == 0
    blind = worked_example(primary_stopped=True)
    assert blind.unknown_s == 21_600
    assert blind.up_s == 2_644_220
    assert (round(blind.sli or 0, 6), round(blind.sli_worst or 0, 6)) == (0.99797, 0.9899)
    assert round(blind.unknown_share or 0, 5) == 0.00809


# --- failover statistics (pure) -------------------------------------------------------------


def test_failovers_union_over_vantages_clip_and_count() -> None:
    events = [
        # stay 1 began in September: clipped to the start, not a switch of October
        ("S", "G", "dc-primary", msk(30, 22, month=9), "on_backup"),
        ("S", "G", "dc-primary", msk(1, 2), "on_primary"),
        # stay 2 seen by both vantages a few seconds apart: one switch, the union of both
        ("S", "G", "dc-primary", msk(10, 12), "on_backup"),
        ("S", "G", "dc-reserve", msk(10, 12, 0, 3), "on_backup"),
        ("S", "G", "dc-primary", msk(10, 13), "on_primary"),
        ("S", "G", "dc-reserve", msk(10, 13, 0, 7), "on_primary"),
        # stay 3 still open at the end: counts up to the end
        ("S", "G", "dc-reserve", msk(31, 20), "on_backup"),
        ("S", "G", "dc-reserve", msk(1, 1, month=11), "on_primary"),  # after the end: ignored
    ]
    [stats] = failover_stats(events, [("S", "G")], OCT_START, OCT_END, MSK)
    assert stats.switches == 2
    assert stats.backup_s == 2 * 3600 + 3607 + 4 * 3600
    assert stats.longest_backup_s == 4 * 3600
    assert stats.last_backup_at == msk(31, 20)
    assert stats.months_without_exercise == 0


def test_a_backup_never_switched_to_is_listed_and_old_switches_are_counted_in_months() -> None:
    events = [("S", "OLD", "v", msk(15, 10, month=6), "on_backup"),
              ("S", "OLD", "v", msk(15, 11, month=6), "on_primary")]  # fmt: skip
    never, old = failover_stats(events, [("S", "NEVER")], OCT_START, OCT_END, MSK)
    assert (never.redundancy_group, never.switches, never.backup_s) == ("NEVER", 0, 0.0)
    assert never.months_without_exercise is None
    assert never.last_backup_at is None
    assert (old.redundancy_group, old.switches, old.backup_s) == ("OLD", 0, 0.0)
    assert old.months_without_exercise == 4  # 15.06 → 01.11: four whole months


# --- from the database (SQLite and PostgreSQL) ----------------------------------------------


def write_ledger(engine: Engine, rows: Sequence[tuple[str, str, str, dt.datetime, str]]) -> None:
    with engine.begin() as conn:
        bulk_insert(conn, StatusTransition.__table__, [  # type: ignore[arg-type]
            {"object_kind": kind, "object_key": key, "vantage": vantage, "at": when,
             "state": state, "previous": None, "reason": "test", "source": "test"}
            for kind, key, vantage, when, state in rows
        ])  # fmt: skip


def write_failovers(engine: Engine, rows: Sequence[tuple[str, str, dt.datetime, str]]) -> None:
    with engine.begin() as conn:
        bulk_insert(conn, FailoverEvent.__table__, [  # type: ignore[arg-type]
            {"site_key": "FAP-0001", "redundancy_group": group, "vantage": vantage, "at": when,
             "kind": kind, "active_channel": None, "detail": None}
            for group, vantage, when, kind in rows
        ])  # fmt: skip


def site_maintenance(engine: Engine) -> None:
    load(engine, "maintenance", [
        {"key": "MW-1", "objects": "site:FAP-0001", "starts_at": "20.10.2026 12:00",
         "ends_at": "20.10.2026 14:00", "reason": "замена маршрутизатора"},
        {"key": "MW-2", "objects": "device:dc-hw1", "starts_at": "10.10.2026 00:00",
         "ends_at": "10.10.2026 01:00", "reason": "обновление координатора"},
        {"key": "MW-OLD", "objects": "site:FAP-0001", "starts_at": "01.09.2026 00:00",
         "ends_at": "02.09.2026 00:00", "reason": "не в этом месяце"},
    ])  # fmt: skip


CH1, CH2 = "CH-FAP-0001-1", "CH-FAP-0001-2"


def october_report(engine: Engine, kinds: tuple[str, ...] = ("channel",)) -> UptimeReport:
    start, end = month_bounds("2026-10", MSK)
    return build_uptime_report(engine, start, end, zone=MSK, kinds=kinds)


def test_monthly_report_of_the_world(engine: Engine) -> None:
    make_world(engine)
    site_maintenance(engine)
    write_ledger(engine, [
        # history: the state at the start is the last transition before it
        ("channel", CH1, "dc-primary", msk(1, month=9), "down"),
        ("channel", CH1, "dc-primary", msk(15, month=9), "up"),
        ("channel", CH1, "dc-reserve", msk(20, month=9), "up"),
        ("channel", CH1, "dc-primary", msk(5, 10), "down"),
        ("channel", CH1, "dc-primary", msk(5, 11, 0, 0, 250_000), "up"),
        ("channel", CH1, "dc-reserve", msk(5, 10, 0, 20), "down"),
        ("channel", CH1, "dc-reserve", msk(5, 11, 0, 5), "up"),
        ("channel", CH1, "dc-reserve", msk(12, 3), "unknown"),
        ("channel", CH1, "dc-reserve", msk(12, 9), "up"),
        ("channel", CH1, "dc-primary", msk(1, 0, month=11), "down"),  # after the end
    ])  # fmt: skip
    report = october_report(engine)
    assert (report.start, report.end, report.zone, report.label) == (
        OCT_START, OCT_END, "Europe/Moscow", "2026-10",
    )  # fmt: skip
    first, second = report.objects
    assert (first.kind, first.key, first.site) == ("channel", CH1, "FAP-0001")
    assert (first.district, first.organization) == ("Абинский район", "ЦРБ № 1")
    assert first.seconds == Seconds(
        up_s=OCTOBER - 3580.25 - 7200, down_s=3580.25, degraded_s=0, unknown_s=0,
        maintenance_s=7200, disagreement_s=24.75,
    )  # fmt: skip
    assert first.sla_target_pct == Decimal("98.5")
    assert first.meets_target is True
    # no data at all: unknown (but the site's window still counts as maintenance), never dropped
    assert second.key == CH2
    assert second.seconds == Seconds(unknown_s=OCTOBER - 7200, maintenance_s=7200)
    assert (second.seconds.sli, second.seconds.sli_worst) == (None, 0.0)
    assert second.meets_target is None
    assert report.outages_by_day == {dt.date(2026, 10, 5): 1}
    groups = {(g.level, g.key): g for g in report.groups}
    assert set(groups) == {
        ("site", "FAP-0001"), ("organization", "MO-1"), ("district", "23-R01"), ("region", "23"),
    }  # fmt: skip
    for group in groups.values():
        assert group.objects == 2
        assert group.kind == "channel"
        assert group.seconds.up_s == first.seconds.up_s
        assert group.seconds.unknown_s == second.seconds.unknown_s
        assert group.seconds.maintenance_s == 2 * 7200
    assert groups[("region", "23")].name == "Краснодарский край"
    assert groups[("district", "23-R01")].name == "Абинский район"
    # the group SLI comes from the sums, not from averaging SLIs
    assert groups[("site", "FAP-0001")].seconds.sli == first.seconds.sli


def test_a_site_window_covers_what_stands_there(engine: Engine) -> None:
    make_world(engine)
    site_maintenance(engine)
    report = october_report(engine, ("site", "device", "vipnet_node", "workstation"))
    maintenance = {(o.kind, o.key): o.seconds.maintenance_s for o in report.objects}
    assert maintenance == {
        ("site", "DC-PRIMARY"): 0, ("site", "FAP-0001"): 7200, ("site", "MO-1-M"): 0,
        ("device", "dc-hw1"): 3600, ("device", "dc-rtr1"): 0, ("device", "fap-0001-rtr"): 7200,
        ("vipnet_node", "0x07c40001"): 3600,  # runs on dc-hw1
        ("vipnet_node", "0x07c40002"): 7200,  # the AWP at FAP-0001
        ("workstation", "arm-fap-0001-001"): 7200, ("workstation", "arm-mo-1-001"): 0,
        ("workstation", "arm-mo-1-002"): 0,
    }  # fmt: skip
    assert [o.kind for o in report.objects][:3] == ["site", "site", "site"]  # kinds in order
    node = next(o for o in report.objects if o.key == "0x07c40002")
    assert node.site == "FAP-0001"
    assert all(o.seconds.up_s == 0 for o in report.objects)


def test_an_object_only_the_ledger_knows_is_kept(engine: Engine) -> None:
    make_world(engine)
    write_ledger(engine, [("channel", "CH-GONE", "dc-primary", msk(2), "up")])
    report = october_report(engine)
    gone = next(o for o in report.objects if o.key == "CH-GONE")
    assert (gone.name, gone.site) == (None, None)
    assert gone.seconds == Seconds(up_s=OCTOBER - 86400, unknown_s=86400)
    region = next(g for g in report.groups if g.level == "region")
    assert region.objects == 3
    assert not [g for g in report.groups if g.level == "site" and g.objects == 3]


def test_failovers_from_the_database(engine: Engine) -> None:
    make_world(engine)
    write_failovers(engine, [
        ("FAP-0001-WAN", "dc-primary", msk(10, 12), "on_backup"),
        ("FAP-0001-WAN", "dc-reserve", msk(10, 12, 0, 2), "on_backup"),
        ("FAP-0001-WAN", "dc-primary", msk(10, 14), "on_primary"),
        ("FAP-0001-WAN", "dc-reserve", msk(10, 14, 0, 1), "on_primary"),
    ])  # fmt: skip
    [stats] = october_report(engine).failovers
    assert (stats.site, stats.redundancy_group, stats.switches) == ("FAP-0001", "FAP-0001-WAN", 1)
    assert stats.backup_s == stats.longest_backup_s == 7201
    assert stats.last_backup_at == msk(10, 12, 0, 2)
    assert stats.months_without_exercise == 0


def test_a_backup_group_without_events_is_reported_as_never_exercised(engine: Engine) -> None:
    make_world(engine)
    [stats] = october_report(engine).failovers
    assert (stats.site, stats.redundancy_group, stats.switches) == ("FAP-0001", "FAP-0001-WAN", 0)
    assert stats.months_without_exercise is None


def test_a_collector_ledger_counts_from_the_first_failed_poll(engine: Engine) -> None:
    """Polls every minute through the real ledger (debounce 3 down / 2 up), then a clean stop."""
    t0 = msk(5, 10)
    minute = dt.timedelta(minutes=1)
    ledger = Ledger(engine, "dc-primary", {"channel": Policy(down_after=3, up_after=2)}, 3 * minute)
    ledger.start(now=t0 - minute)
    polls = [State.UP, State.UP, State.DOWN, State.DOWN, State.DOWN, State.DOWN, State.UP, State.UP]
    ledger.record(
        Observation("channel", CH1, t0 + i * minute, state) for i, state in enumerate(polls)
    )
    ledger.stop(now=t0 + 8 * minute)
    seconds = object_seconds(engine, "channel", t0, t0 + 10 * minute)[CH1]
    # up from the first success, down from the first failure, unknown from the stop: never up
    assert seconds == Seconds(up_s=4 * 60, down_s=4 * 60, unknown_s=2 * 60)


def test_too_many_vantages_are_refused_while_the_rows_still_stream(engine: Engine) -> None:
    """The error stops the ledger query cleanly: the engine takes the fix and the next question."""
    write_ledger(
        engine,
        [("channel", "A", f"v{i:02d}", msk(2), "up") for i in range(MAX_VANTAGES + 1)]
        + [("channel", f"Z{i:04d}", "v00", msk(3), "down") for i in range(3000)],
    )
    with pytest.raises(ValueError, match=f"more than {MAX_VANTAGES} vantage points"):
        object_seconds(engine, "channel", OCT_START, OCT_END)
    with engine.begin() as conn:
        conn.execute(delete(StatusTransition).where(StatusTransition.vantage != "v00"))
    day = object_seconds(engine, "channel", msk(4), msk(5))
    assert len(day) == 3001
    assert day["Z0000"] == Seconds(down_s=86400)


def test_unknown_kinds_and_empty_intervals_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="castle"):
        build_uptime_report(engine, OCT_START, OCT_END, zone=MSK, kinds=("castle",))
    with pytest.raises(ValueError, match="empty interval"):
        build_uptime_report(engine, OCT_END, OCT_START, zone=MSK)


@st.composite
def db_ledgers(draw: st.DrawFn) -> dict[str, Any]:
    """Several objects' ledgers with microsecond times around an interval near a month end."""
    start_us = (BOUNDARY - draw(st.integers(0, 2 * 86400))) * 10**6 + draw(st.integers(0, 10**6))
    end_us = start_us + draw(st.integers(1, 3 * 86400 * 10**6))
    lo, hi = start_us - 2 * 86400 * 10**6, end_us + 86400 * 10**6
    objects = {}
    for key in draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), min_size=1, unique=True)):
        vantages = draw(st.lists(st.sampled_from(["v1", "v2", "v3"]), min_size=1, unique=True))
        objects[key] = {
            vantage: draw(
                st.lists(st.tuples(st.integers(lo, hi), st.sampled_from(STATES)),
                         max_size=8, unique_by=lambda change: change[0])
            )
            for vantage in vantages
        }  # fmt: skip
    windows = draw(
        st.lists(st.tuples(st.integers(lo, hi), st.integers(1, 86400 * 10**6)), max_size=2)
    )
    return {"start": start_us, "end": end_us, "objects": objects,
            "maintenance": [(a, a + n) for a, n in windows]}  # fmt: skip


def us(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=value)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=db_ledgers())
def test_the_database_path_equals_the_pure_core(engine: Engine, case: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(StatusTransition))
    write_ledger(engine, [
        ("channel", key, vantage, us(t), state)
        for key, per_vantage in case["objects"].items()
        for vantage, changes in per_vantage.items()
        for t, state in changes
    ])  # fmt: skip
    start, end = us(case["start"]), us(case["end"])
    windows = [(us(a), us(b)) for a, b in case["maintenance"]]
    got = object_seconds(
        engine, "channel", start, end, keys=["A", "B", "C", "D"],
        maintenance={"A": windows, "C": windows},
    )  # fmt: skip
    expected = {
        key: compute_seconds(
            start,
            end,
            {v: [(us(t), s) for t, s in ch] for v, ch in case["objects"].get(key, {}).items()},
            maintenance=windows if key in ("A", "C") else [],
        )
        for key in ("A", "B", "C", "D")
    }  # fmt: skip
    assert got == expected
