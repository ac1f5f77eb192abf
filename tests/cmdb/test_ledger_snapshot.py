"""The ledger's state at month boundaries (migration 0006), against a reading of the ledger itself.

On PostgreSQL, triggers on ``status_transition`` keep ``ledger_last_state`` and
``ledger_month_state``; whatever is written, late or deleted, both must equal what the ledger's
own rows say, and an uptime report that reads them must equal the pure core. SQLite has no such
triggers (its reports read the ledger), so those tests run on PostgreSQL only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select, text, update

from cmdb.bulk import bulk_insert
from cmdb.migrate import alembic_config, upgrade
from cmdb.models import LedgerLastState, LedgerMonthState, StatusTransition
from cmdb.sla import compute_seconds, ledger_boundary, object_seconds

UTC = dt.UTC
STATES = ("up", "down", "degraded", "unknown")
DAY = 86400 * 10**6
#: Instants (µs since 1970) from mid-August to mid-December 2026: four boundaries in between.
LO = int(dt.datetime(2026, 8, 15, tzinfo=UTC).timestamp()) * 10**6
HI = int(dt.datetime(2026, 12, 15, tzinfo=UTC).timestamp()) * 10**6
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
Row = tuple[str, str, int, str]  # key, vantage, µs since 1970, state


def us(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=value)


@pytest.fixture
def pg(engine: Engine, backend: str) -> Engine:
    if backend != "postgresql":
        pytest.skip("the boundary states are kept by PostgreSQL triggers; SQLite has none")
    return engine


# --- the boundary rule ----------------------------------------------------------------------


@pytest.mark.backend_neutral
def test_a_boundary_is_10_utc_on_the_last_day_of_the_month() -> None:
    assert ledger_boundary(dt.datetime(2026, 10, 15, tzinfo=UTC)) == dt.datetime(
        2026, 9, 30, 10, tzinfo=UTC
    )
    assert ledger_boundary(dt.datetime(2026, 9, 30, 10, tzinfo=UTC)) == dt.datetime(
        2026, 9, 30, 10, tzinfo=UTC
    )
    just_before = dt.datetime(2026, 9, 30, 9, 59, 59, 999_999, tzinfo=UTC)
    assert ledger_boundary(just_before) == dt.datetime(2026, 8, 31, 10, tzinfo=UTC)
    assert ledger_boundary(dt.datetime(2028, 3, 1, tzinfo=UTC)) == dt.datetime(
        2028, 2, 29, 10, tzinfo=UTC
    )


@pytest.mark.backend_neutral
@pytest.mark.parametrize(
    "zone", ["Etc/GMT+12", "America/New_York", "UTC", "Europe/Moscow", "Asia/Kamchatka",
             "Pacific/Kiritimati"],
)  # fmt: skip
def test_every_zone_s_month_starts_at_most_26_hours_after_a_boundary(zone: str) -> None:
    for month in range(1, 13):
        start = dt.datetime(2026, month, 1, tzinfo=ZoneInfo(zone))
        boundary = ledger_boundary(start)
        assert dt.timedelta(0) <= start - boundary <= dt.timedelta(hours=26)
    moscow = dt.datetime(2026, 10, 1, tzinfo=ZoneInfo("Europe/Moscow"))
    assert moscow - ledger_boundary(moscow) == dt.timedelta(hours=11)


def test_the_database_and_python_agree_on_the_boundaries(pg: Engine) -> None:
    instants = [dt.datetime(2026, m, d, h, tzinfo=UTC) for m in (1, 2, 9, 12)
                for d in (1, 27) for h in (0, 9, 10, 11, 23)]  # fmt: skip
    with pg.connect() as conn:
        for at in instants:
            got = conn.execute(
                text("SELECT max(b) FROM ledger_boundaries(:at - interval '40 days', :at) AS b"),
                {"at": at},
            ).scalar_one()
            assert got == ledger_boundary(at), at


# --- the tables against the ledger ----------------------------------------------------------


def expected_tables(
    rows: Iterable[Row],
) -> tuple[set[tuple[str, str, dt.datetime, str]], set[tuple[str, str, dt.datetime, str]]]:
    """(last state, boundary states) as the ledger's rows define them, read here from scratch."""
    per_pair: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for key, vantage, at, state in rows:
        per_pair.setdefault((key, vantage), []).append((at, state))
    last, boundaries = set(), set()
    for (key, vantage), changes in per_pair.items():
        changes.sort()
        last.add((key, vantage, us(changes[-1][0]), changes[-1][1]))
        boundary = following(us(changes[0][0]))
        while boundary <= us(changes[-1][0]):
            before = [state for at, state in changes if us(at) < boundary]
            boundaries.add((key, vantage, boundary, before[-1]))
            boundary = following(boundary)
    return last, boundaries


def following(at: dt.datetime) -> dt.datetime:
    """The first boundary after ``at`` (boundaries are 28 to 31 days apart)."""
    return ledger_boundary(ledger_boundary(at) + dt.timedelta(days=40))


def tables(engine: Engine) -> tuple[set[Any], set[Any]]:
    with engine.connect() as conn:
        last = {tuple(r) for r in conn.execute(select(
            LedgerLastState.object_key, LedgerLastState.vantage, LedgerLastState.at,
            LedgerLastState.state,
        ))}  # fmt: skip
        boundaries = {tuple(r) for r in conn.execute(select(
            LedgerMonthState.object_key, LedgerMonthState.vantage, LedgerMonthState.boundary,
            LedgerMonthState.state,
        ))}  # fmt: skip
    return last, boundaries


def ledger_rows(engine: Engine) -> list[Row]:
    with engine.connect() as conn:
        return [
            (key, vantage, (at - EPOCH) // dt.timedelta(microseconds=1), state)
            for key, vantage, at, state in conn.execute(select(
                StatusTransition.object_key, StatusTransition.vantage, StatusTransition.at,
                StatusTransition.state,
            ))
        ]  # fmt: skip


def write(engine: Engine, rows: Sequence[Row]) -> None:
    with engine.begin() as conn:
        bulk_insert(conn, StatusTransition.__table__, [  # type: ignore[arg-type]
            {"object_kind": "channel", "object_key": key, "vantage": vantage, "at": us(at),
             "state": state, "previous": None, "reason": "test", "source": "test"}
            for key, vantage, at, state in rows
        ])  # fmt: skip


def check(engine: Engine) -> None:
    assert tables(engine) == expected_tables(ledger_rows(engine))


rows_strategy = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["v1", "v2"]),
              st.integers(LO, HI), st.sampled_from(STATES)),
    max_size=10,
    unique_by=lambda row: (row[0], row[1], row[2]),
)  # fmt: skip


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(rows_strategy, min_size=1, max_size=4), data=st.data())
def test_writes_in_any_order_keep_the_tables_exact(
    pg: Engine, batches: list[list[Row]], data: st.DataObject
) -> None:
    """Batches land in any time order (late history included), then a row goes, one moves."""
    with pg.begin() as conn:
        conn.execute(delete(StatusTransition))
    check(pg)
    seen: set[tuple[str, str, int]] = set()
    for batch in batches:
        fresh = [row for row in batch if row[:3] not in seen]
        seen.update(row[:3] for row in fresh)
        write(pg, fresh)
        check(pg)
    if not seen:
        return
    gone = data.draw(st.sampled_from(sorted(seen)))
    with pg.begin() as conn:
        conn.execute(delete(StatusTransition).where(
            StatusTransition.object_key == gone[0], StatusTransition.vantage == gone[1],
            StatusTransition.at == us(gone[2]),
        ))  # fmt: skip
    check(pg)
    seen.discard(gone)
    if not seen:
        return
    moved = data.draw(st.sampled_from(sorted(seen)))
    to = data.draw(st.integers(LO, HI).filter(lambda t: ("C", moved[1], t) not in seen))
    with pg.begin() as conn:
        conn.execute(
            update(StatusTransition)
            .where(StatusTransition.object_key == moved[0], StatusTransition.vantage == moved[1],
                   StatusTransition.at == us(moved[2]))
            .values(object_key="C", at=us(to))
        )  # fmt: skip
    check(pg)


def test_several_statements_of_one_transaction_are_seen(pg: Engine) -> None:
    day = dt.timedelta(days=1)
    with pg.begin() as conn:
        for i, state in enumerate(["down", "up", "degraded"]):
            bulk_insert(conn, StatusTransition.__table__, [  # type: ignore[arg-type]
                {"object_kind": "channel", "object_key": "A", "vantage": "v1",
                 "at": dt.datetime(2026, 8, 20, tzinfo=UTC) + 30 * i * day, "state": state,
                 "previous": None, "reason": "test", "source": "test"}
            ])  # fmt: skip
    check(pg)
    assert ("A", "v1", dt.datetime(2026, 9, 30, 10, tzinfo=UTC), "up") in tables(pg)[1]


def test_truncate_empties_them(pg: Engine) -> None:
    write(pg, [("A", "v1", LO, "up"), ("A", "v1", HI, "down")])
    assert tables(pg) != (set(), set())
    with pg.begin() as conn:
        conn.execute(text("TRUNCATE status_transition"))
    assert tables(pg) == (set(), set())


def test_the_migration_fills_them_from_an_existing_ledger(pg: Engine) -> None:
    rows = [("A", "v1", LO, "up"), ("A", "v1", LO + 50 * DAY, "down"),
            ("B", "v2", LO + DAY, "degraded"), ("C", "v1", HI, "up")]  # fmt: skip
    write(pg, rows)
    config = alembic_config(pg)
    command.downgrade(config, "0005")
    command.upgrade(config, "0006")
    check(pg)
    # A: up from 15.08, down from 04.10: up at the boundaries of August and September
    assert tables(pg)[1] == {
        ("A", "v1", dt.datetime(2026, 8, 31, 10, tzinfo=UTC), "up"),
        ("A", "v1", dt.datetime(2026, 9, 30, 10, tzinfo=UTC), "up"),
    }
    upgrade(pg)


# --- reports read them ----------------------------------------------------------------------


def test_a_report_takes_the_state_at_its_start_from_the_boundary(pg: Engine) -> None:
    """Quiet since long ago, across the boundary, only after it, and a late row of history."""
    start = dt.datetime(2026, 9, 30, 21, tzinfo=UTC)  # October in Moscow
    end = dt.datetime(2026, 10, 31, 21, tzinfo=UTC)
    hour = 3600 * 10**6
    s = int(start.timestamp()) * 10**6
    ledger: list[Row] = [
        ("QUIET", "v1", s - 200 * DAY, "down"),  # all before the boundary: the last state
        ("ACROSS", "v1", s - 40 * DAY, "up"),
        ("ACROSS", "v1", s + 5 * DAY, "down"),
        ("ACROSS", "v2", s - 3 * hour, "degraded"),  # between the boundary and the start
        ("ACROSS", "v2", s + 6 * DAY, "up"),
        ("FRESH", "v1", s - 2 * hour, "up"),  # nothing before the boundary
        ("FRESH", "v1", s + hour, "unknown"),
        ("FRESH", "v2", s + 10 * DAY, "down"),
    ]
    write(pg, ledger)
    check(pg)

    def expected(rows: Sequence[Row]) -> dict[str, Any]:
        per_key: dict[str, dict[str, list[tuple[dt.datetime, str]]]] = {}
        for key, vantage, at, state in rows:
            per_key.setdefault(key, {}).setdefault(vantage, []).append((us(at), state))
        return {key: compute_seconds(start, end, changes) for key, changes in per_key.items()}

    assert object_seconds(pg, "channel", start, end) == expected(ledger)
    late = [("QUIET", "v1", s - 10 * DAY, "up"), ("ACROSS", "v1", s - 20 * DAY, "degraded")]
    write(pg, late)  # history arriving late changes the state at the boundary
    check(pg)
    got = object_seconds(pg, "channel", start, end)
    assert got == expected(ledger + late)
    assert got["QUIET"].up_s == (end - start).total_seconds()
