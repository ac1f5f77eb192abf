"""The status ledger: debounce, gaps as unknown, restarts, failover events, history import."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmdb.choices import State
from cmdb.errors import ImportFailed
from cmdb.ledger import ChannelRef, Ledger, Observation, Policy, Tracked, step
from cmdb.models import AuditEntry, FailoverEvent, ObjectState, StatusTransition
from cmdb.status_import import import_status_events
from tests.factories import ACTOR, ZONE, make_world

T0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
SEC = dt.timedelta(seconds=1)
GAP = dt.timedelta(minutes=3)
POLICY = Policy(down_after=3, up_after=2)


def feed(states: list[State], start: dt.datetime = T0, every: dt.timedelta = MIN):
    tracked: Tracked | None = None
    changes = []
    for i, state in enumerate(states):
        tracked, new = step(
            tracked, Observation("channel", "CH", start + i * every, state), POLICY, GAP
        )
        changes.extend(new)
    return tracked, changes


U, D, G = State.UP, State.DOWN, State.DEGRADED


def test_up_needs_m_successes_and_is_stamped_at_the_first() -> None:
    tracked, changes = feed([U])
    assert changes == []
    assert tracked is not None
    assert tracked.state is State.UNKNOWN
    _tracked, changes = feed([U, U])
    assert [(at, state) for at, state, _p, _r in changes] == [(T0, U)]


def test_down_needs_n_failures_and_starts_at_the_first_failure() -> None:
    _t, changes = feed([U, U, D, D, D, D])
    assert [(at, state) for at, state, _p, _r in changes] == [(T0, U), (T0 + 2 * MIN, D)]


def test_a_flap_shorter_than_the_threshold_is_not_an_outage() -> None:
    _t, changes = feed([U, U, D, D, U, U, D, U])
    assert [state for _at, state, _p, _r in changes] == [U]


def test_degraded_is_its_own_state() -> None:
    _t, changes = feed([U, U, G, G, U, U])
    assert [(at, state) for at, state, _p, _r in changes] == [
        (T0, U), (T0 + 2 * MIN, G), (T0 + 4 * MIN, U),
    ]  # fmt: skip


def test_a_gap_is_unknown_from_the_last_observation_never_up() -> None:
    tracked, _changes = feed([U, U, U])
    assert tracked is not None
    later = T0 + 2 * MIN + 10 * MIN  # ten minutes of silence, gap threshold three
    tracked, more = step(tracked, Observation("channel", "CH", later, U), POLICY, GAP)
    assert [(at, state) for at, state, _p, _r in more] == [(T0 + 2 * MIN, State.UNKNOWN)]
    assert tracked.state is State.UNKNOWN  # one success after a gap is not yet up
    tracked, more = step(tracked, Observation("channel", "CH", later + MIN, U), POLICY, GAP)
    assert [(at, state) for at, state, _p, _r in more] == [(later, U)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([U, D, G]), st.sampled_from([1, 1, 1, 2, 7])), max_size=60)
)
def test_transitions_are_ordered_and_justified(raw: list[tuple[State, int]]) -> None:
    tracked: Tracked | None = None
    at = T0
    observations = []
    changes = []
    for state, minutes in raw:
        at += minutes * MIN
        observations.append((at, state))
        tracked, new = step(tracked, Observation("channel", "CH", at, state), POLICY, GAP)
        changes.extend(new)
    times = [c[0] for c in changes]
    assert times == sorted(times)
    for (_a, s1, _p1, _r1), (_b, s2, p2, _r2) in itertools.pairwise(changes):
        assert s1 is not s2  # never a transition to the state it already is in
        assert p2 is s1  # each transition starts from where the previous one ended
    for when, state, _prev, reason in changes:
        if reason == "gap":
            continue
        # A debounced state is backed by enough consecutive observations from its time on.
        run = [s for a, s in observations if a >= when]
        needed = POLICY.down_after if state is D else POLICY.up_after
        assert run[:needed] == [state] * needed


# --- the database side ---------------------------------------------------------------------


def ledger(engine: Engine) -> Ledger:
    return Ledger(engine, "dc-primary", {"channel": POLICY}, GAP, source="test")


def transitions(engine: Engine, key: str) -> list[tuple[dt.datetime, str]]:
    with Session(engine) as session:
        rows = session.scalars(
            select(StatusTransition)
            .where(StatusTransition.object_key == key)
            .order_by(StatusTransition.at, StatusTransition.id)
        )
        return [(r.at, r.state) for r in rows]


def obs(key: str, minute: int, state: State) -> Observation:
    return Observation("channel", key, T0 + minute * MIN, state)


def test_ledger_persists_transitions_and_current_state(engine: Engine) -> None:
    lg = ledger(engine)
    lg.start(T0)
    for minute, state in enumerate([U, U, D, D, D]):
        lg.record([obs("CH-1", minute, state)])
    assert transitions(engine, "CH-1") == [(T0, "up"), (T0 + 2 * MIN, "down")]
    with Session(engine) as session:
        row = session.scalars(select(ObjectState).where(ObjectState.object_key == "CH-1")).one()
    assert (row.state, row.since, row.streak) == ("down", T0 + 2 * MIN, 3)


def test_restart_after_a_crash_records_the_gap_as_unknown(engine: Engine) -> None:
    first = ledger(engine)
    first.start(T0)
    for minute in range(3):
        first.record([obs("CH-1", minute, U)])
    first.cycle_done(T0 + 2 * MIN)
    # The process dies here: no stop(). A new one starts an hour later.
    second = ledger(engine)
    second.start(T0 + 60 * MIN)
    assert second.state_of("channel", "CH-1") is State.UNKNOWN
    second.record([obs("CH-1", 61, U)])
    second.record([obs("CH-1", 62, U)])
    assert transitions(engine, "CH-1") == [
        (T0, "up"), (T0 + 2 * MIN, "unknown"), (T0 + 61 * MIN, "up"),
    ]  # fmt: skip


def test_clean_stop_then_start_does_not_double_the_unknown(engine: Engine) -> None:
    lg = ledger(engine)
    lg.start(T0)
    lg.record([obs("CH-1", 0, U), obs("CH-1", 1, U)])
    lg.stop(T0 + 5 * MIN)
    again = ledger(engine)
    again.start(T0 + 30 * MIN)
    assert transitions(engine, "CH-1") == [(T0, "up"), (T0 + 5 * MIN, "unknown")]


def test_silent_objects_expire_to_unknown(engine: Engine) -> None:
    lg = ledger(engine)
    lg.start(T0)
    lg.record([obs("CH-1", 0, U), obs("CH-1", 1, U)])
    assert lg.expire_silent(T0 + 2 * MIN) == []
    expired = lg.expire_silent(T0 + 10 * MIN)
    assert [(t.key, t.at, t.state) for t in expired] == [("CH-1", T0 + MIN, State.UNKNOWN)]


def test_failover_to_backup_and_back(engine: Engine) -> None:
    make_world(engine)
    channels = [
        ChannelRef("CH-FAP-0001-1", "FAP-0001", "FAP-0001-WAN", "primary"),
        ChannelRef("CH-FAP-0001-2", "FAP-0001", "FAP-0001-WAN", "backup"),
    ]
    lg = ledger(engine)
    lg.start(T0)
    for minute, (primary, backup) in enumerate(
        [(U, U), (U, U), (D, U), (D, U), (D, U), (U, U), (U, U)]
    ):
        lg.record([obs("CH-FAP-0001-1", minute, primary), obs("CH-FAP-0001-2", minute, backup)])
        lg.detect_failover(channels, T0 + minute * MIN)
    with Session(engine) as session:
        events = [
            (e.kind, e.at, e.active_channel)
            for e in session.scalars(select(FailoverEvent).order_by(FailoverEvent.id))
        ]
    assert events == [
        ("on_backup", T0 + 2 * MIN, "CH-FAP-0001-2"),
        ("on_primary", T0 + 5 * MIN, "CH-FAP-0001-1"),
    ]
    # A restarted collector remembers the site is back on its primary: no duplicate event.
    again = ledger(engine)
    again.start(T0 + 8 * MIN)
    assert again.on_backup()[("FAP-0001", "FAP-0001-WAN")].on_backup is False


# --- import of status history --------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "events.csv"
    path.write_text(text, encoding="utf-8")
    return path


HEADER = "object_kind,object_key,vantage,at,state\n"


def test_status_events_import_idempotent_with_previous_states(
    engine: Engine, tmp_path: Path
) -> None:
    make_world(engine)
    path = write(
        tmp_path,
        HEADER
        + "channel,CH-FAP-0001-1,zabbix,01.10.2026 10:00,up\n"
        + "канал,CH-FAP-0001-1,zabbix,2026-10-01T12:30:00+03:00,не работает\n"
        + "channel,CH-FAP-0001-1,zabbix,01.10.2026 13:00,up\n",
    )
    result = import_status_events(engine, path, actor=ACTOR, zone=ZONE)
    assert (result.created, result.unchanged) == (3, 0)
    with Session(engine) as session:
        rows = session.scalars(select(StatusTransition).order_by(StatusTransition.at)).all()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.source == str(path))).one()
    assert [(r.at, r.state, r.previous) for r in rows] == [
        (dt.datetime(2026, 10, 1, 7, 0, tzinfo=dt.UTC), "up", None),
        (dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC), "down", "up"),
        (dt.datetime(2026, 10, 1, 10, 0, tzinfo=dt.UTC), "up", "down"),
    ]
    assert audit.action == "import"
    again = import_status_events(engine, path, actor=ACTOR, zone=ZONE)
    assert (again.created, again.unchanged) == (0, 3)


def test_status_events_bad_rows_write_nothing(engine: Engine, tmp_path: Path) -> None:
    make_world(engine)
    path = write(
        tmp_path,
        HEADER
        + "channel,CH-NOPE,zabbix,01.10.2026 10:00,up\n"
        + "channel,CH-FAP-0001-1,Zabbix Server,01.10.2026 10:00,up\n"
        + "channel,CH-FAP-0001-1,zabbix,31.09.2026 10:00,up\n"
        + "channel,CH-FAP-0001-1,zabbix,01.10.2026 11:00,flapping\n"
        + "channel,CH-FAP-0001-1,zabbix,01.10.2026 12:00,up\n"
        + "channel,CH-FAP-0001-1,zabbix,01.10.2026 12:00,down\n",
    )
    with pytest.raises(ImportFailed) as exc:
        import_status_events(engine, path, actor=ACTOR, zone=ZONE)
    got = [(e.row, e.column) for e in exc.value.errors]
    assert got == [(2, "object_key"), (3, "vantage"), (4, "at"), (5, "state"), (7, "at")]
    with Session(engine) as session:
        assert session.scalars(select(StatusTransition)).all() == []


def test_a_state_seen_once_then_silent_does_not_collide_with_its_gap(engine: Engine) -> None:
    """Policy 1/1 (ViPNet nodes, sites): up once, then silent past the gap, then seen again."""
    lg = Ledger(engine, "dc-primary", {"vipnet_node": Policy(1, 1)}, GAP, source="test")
    lg.start(T0)
    lg.record([Observation("vipnet_node", "0x07c40001", T0 + 10 * SEC, U)])
    later = T0 + 400 * SEC
    lg.record([Observation("vipnet_node", "0x07c40001", later, U)])
    with engine.connect() as conn:
        rows = conn.execute(
            select(StatusTransition.at, StatusTransition.state)
            .where(StatusTransition.object_key == "0x07c40001")
            .order_by(StatusTransition.at)
        ).all()
    states = [state for _at, state in rows]
    assert states == ["up", "unknown", "up"]
    assert rows[0].at == T0 + 10 * SEC
    assert rows[0].at < rows[1].at < rows[0].at + SEC  # the gap begins right after that sighting
    assert rows[2].at == later
    assert lg.expire_silent(later + 10 * MIN)[0].at > later
