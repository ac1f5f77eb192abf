"""The status ledger: debounced state transitions of monitored objects per vantage point.

A collector feeds *observations* (the raw result of one poll: up, down or degraded) and the
ledger turns them into *transitions* with a small state machine per (object, vantage):

* the latest raw results form a streak (``candidate`` × ``streak``, started at
  ``streak_started_at``); when a streak different from the current state reaches its threshold
  (``down_after`` for down, ``up_after`` for up and degraded) the state changes, and the
  transition is stamped with the streak's *first* observation: the outage began when the first
  failed poll saw it, not when the debounce confirmed it;
* a silence longer than the gap threshold (the collector stopped, the machine slept) becomes a
  transition to ``unknown`` at the last observation, and the next streak starts from unknown: a
  gap is never counted as up;
* a clean stop marks everything the vantage watched as ``unknown`` at the stop time.

Transitions are appended to ``status_transition`` (unique per object, vantage and instant), and
the current state per object lives in ``object_state``. Failovers (a site whose primary channel is
down while a backup carries traffic) are derived from channel states and kept in
``failover_event``. Pure logic is in :func:`step`; :class:`Ledger` does the database work.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine, Table, bindparam, select, update

from cmdb.bulk import bulk_insert
from cmdb.choices import FailoverKind, State
from cmdb.models import CollectorRun, FailoverEvent, ObjectState, StatusTransition
from cmdb.types import utcnow

logger = logging.getLogger(__name__)

#: The smallest step of the ledger's clock (timestamps are stored to the microsecond).
_TICK = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Policy:
    """Debounce thresholds of one object kind."""

    down_after: int = 3
    up_after: int = 2


@dataclass(frozen=True)
class Observation:
    """The raw result of one poll of one object."""

    kind: str
    key: str
    at: dt.datetime
    state: State
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Transition:
    """A state change of one object seen from one vantage."""

    kind: str
    key: str
    vantage: str
    at: dt.datetime
    state: State
    previous: State | None
    reason: str


@dataclass
class Tracked:
    """What the ledger knows of one object between polls (mirrors an ``object_state`` row)."""

    state: State
    since: dt.datetime
    candidate: State | None = None
    streak: int = 0
    streak_started_at: dt.datetime | None = None
    last_seen_at: dt.datetime | None = None
    detail: dict[str, Any] | None = None
    row_id: int | None = None
    dirty: bool = True


def step(
    tracked: Tracked | None,
    obs: Observation,
    policy: Policy,
    gap: dt.timedelta,
) -> tuple[Tracked, list[tuple[dt.datetime, State, State | None, str]]]:
    """Apply one observation: the new tracked state and the transitions it causes (pure).

    Each transition is (at, new state, previous state, reason).
    """
    changes: list[tuple[dt.datetime, State, State | None, str]] = []
    if tracked is None:
        tracked = Tracked(state=State.UNKNOWN, since=obs.at, last_seen_at=None)
    else:
        tracked = replace(tracked)
    if (
        tracked.state is not State.UNKNOWN
        and tracked.last_seen_at is not None
        and obs.at - tracked.last_seen_at > gap
    ):
        # Strictly after the state it ends began (a state seen once lasts one tick, not zero:
        # two transitions of one object at one instant would collide in the ledger).
        gap_at = max(tracked.last_seen_at, tracked.since + _TICK)
        changes.append((gap_at, State.UNKNOWN, tracked.state, "gap"))
        tracked.state, tracked.since = State.UNKNOWN, gap_at
        tracked.candidate, tracked.streak, tracked.streak_started_at = None, 0, None
    if obs.state is tracked.candidate:
        tracked.streak += 1
    else:
        tracked.candidate, tracked.streak, tracked.streak_started_at = obs.state, 1, obs.at
    needed = policy.down_after if obs.state is State.DOWN else policy.up_after
    if obs.state is not tracked.state and tracked.streak >= needed:
        at = tracked.streak_started_at or obs.at
        at = max(at, tracked.since)  # never before the state it replaces began
        reason = f"{tracked.streak} × {obs.state.value}"
        changes.append((at, obs.state, tracked.state, reason))
        tracked.state, tracked.since = obs.state, at
    tracked.last_seen_at = obs.at
    if obs.detail is not None:
        tracked.detail = dict(obs.detail)
    tracked.dirty = True
    return tracked, changes


@dataclass
class FailoverState:
    """Whether a site's redundancy group runs on a backup channel."""

    on_backup: bool
    active_channel: str | None


@dataclass(frozen=True)
class ChannelRef:
    """What failover detection needs to know of a channel."""

    key: str
    site: str
    group: str | None
    role: str


@dataclass
class Ledger:
    """The status ledger of one vantage point, backed by the database."""

    engine: Engine
    vantage: str
    policies: Mapping[str, Policy]
    gap: dt.timedelta
    source: str = "collector"
    tracked: dict[tuple[str, str], Tracked] = field(default_factory=dict)
    failover: dict[tuple[str, str], FailoverState] = field(default_factory=dict)
    run_id: int | None = None
    #: (site code, site kind) of the DC answering at the service address, as last seen.
    active_dc: tuple[str, str] | None = None

    # -- life cycle ----------------------------------------------------------------------------

    def start(self, now: dt.datetime | None = None) -> list[Transition]:
        """Load the vantage's state; a previous run that went silent leaves a gap (unknown)."""
        now = now or utcnow()
        with self.engine.connect() as conn:
            previous = (
                conn.execute(
                    select(CollectorRun)
                    .where(CollectorRun.vantage == self.vantage)
                    .order_by(CollectorRun.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
            for row in conn.execute(
                select(ObjectState).where(ObjectState.vantage == self.vantage)
            ).mappings():
                self.tracked[(row["object_kind"], row["object_key"])] = Tracked(
                    state=State(row["state"]),
                    since=row["since"],
                    candidate=State(row["candidate"]) if row["candidate"] else None,
                    streak=row["streak"],
                    streak_started_at=row["streak_started_at"],
                    last_seen_at=row["last_seen_at"],
                    detail=row["detail"],
                    row_id=row["id"],
                    dirty=False,
                )
            for row in conn.execute(
                select(FailoverEvent)
                .where(FailoverEvent.vantage == self.vantage)
                .order_by(FailoverEvent.id)
            ).mappings():
                if row["kind"] == FailoverKind.DC_RESERVE_ACTIVE.value:
                    self.active_dc = (row["site_key"], "dc_reserve")
                elif row["kind"] == FailoverKind.DC_PRIMARY_ACTIVE.value:
                    self.active_dc = (row["site_key"], "dc_primary")
                elif row["kind"] in (FailoverKind.ON_BACKUP.value, FailoverKind.ON_PRIMARY.value):
                    self.failover[(row["site_key"], row["redundancy_group"] or "")] = FailoverState(
                        on_backup=row["kind"] == FailoverKind.ON_BACKUP.value,
                        active_channel=row["active_channel"],
                    )
        transitions: list[Transition] = []
        if previous is not None and previous["stopped_at"] is None:
            # The previous run died: everything it knew is unknown from its last sign of life.
            silent_from = previous["last_cycle_at"] or previous["started_at"]
            transitions = self._all_unknown(silent_from, "collector gap")
        with self.engine.begin() as conn:
            result = conn.execute(
                CollectorRun.__table__.insert().values(  # type: ignore[attr-defined]
                    vantage=self.vantage,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            self.run_id = int(key[0])
        self._persist(transitions)
        return transitions

    def stop(self, now: dt.datetime | None = None) -> list[Transition]:
        """A clean stop: what this vantage watched is unknown from now on."""
        now = now or utcnow()
        transitions = self._all_unknown(now, "collector stopped")
        self._persist(transitions)
        if self.run_id is not None:
            with self.engine.begin() as conn:
                conn.execute(
                    update(CollectorRun)
                    .where(CollectorRun.id == self.run_id)
                    .values(stopped_at=now)
                )
        return transitions

    def _all_unknown(self, at: dt.datetime, reason: str) -> list[Transition]:
        transitions = []
        for (kind, key), tracked in self.tracked.items():
            if tracked.state is State.UNKNOWN:
                continue
            # From the later of the run's last sign of life and the object's last observation;
            # strictly after the state it ends (a state of zero length is still recorded).
            when = max(at, tracked.last_seen_at or at)
            if when <= tracked.since:
                when = tracked.since + _TICK
            transitions.append(
                Transition(kind, key, self.vantage, when, State.UNKNOWN, tracked.state, reason)
            )
            tracked.state, tracked.since = State.UNKNOWN, when
            tracked.candidate, tracked.streak, tracked.streak_started_at = None, 0, None
            tracked.dirty = True
        return transitions

    # -- observations ----------------------------------------------------------------------------

    def record(self, observations: Iterable[Observation]) -> list[Transition]:
        """Apply observations (in time order per object) and persist the outcome."""
        transitions: list[Transition] = []
        for obs in sorted(observations, key=lambda o: o.at):
            policy = self.policies.get(obs.kind, Policy())
            current = self.tracked.get((obs.kind, obs.key))
            tracked, changes = step(current, obs, policy, self.gap)
            if current is not None:
                tracked.row_id = current.row_id
            self.tracked[(obs.kind, obs.key)] = tracked
            transitions.extend(
                Transition(obs.kind, obs.key, self.vantage, at, state, prev, reason)
                for at, state, prev, reason in changes
            )
        self._persist(transitions)
        return transitions

    def expire_silent(self, now: dt.datetime) -> list[Transition]:
        """Objects not observed for longer than the gap (removed, or their poll failing to run)."""
        transitions = []
        for (kind, key), tracked in self.tracked.items():
            if (
                tracked.state is not State.UNKNOWN
                and tracked.last_seen_at is not None
                and now - tracked.last_seen_at > self.gap
            ):
                at = max(tracked.last_seen_at, tracked.since + _TICK)
                transitions.append(
                    Transition(kind, key, self.vantage, at, State.UNKNOWN, tracked.state, "silent")
                )
                tracked.state, tracked.since = State.UNKNOWN, at
                tracked.candidate, tracked.streak, tracked.streak_started_at = None, 0, None
                tracked.dirty = True
        self._persist(transitions)
        return transitions

    def cycle_done(self, now: dt.datetime) -> None:
        """Remember that a whole cycle finished (the restart gap starts after the last one)."""
        if self.run_id is None:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(CollectorRun).where(CollectorRun.id == self.run_id).values(last_cycle_at=now)
            )

    def state_of(self, kind: str, key: str) -> State:
        """The current state of an object (unknown if never seen)."""
        tracked = self.tracked.get((kind, key))
        return tracked.state if tracked else State.UNKNOWN

    # -- failover --------------------------------------------------------------------------------

    def detect_failover(
        self, channels: Sequence[ChannelRef], at: dt.datetime
    ) -> list[FailoverEvent]:
        """Derive 'on backup' / 'back on primary' per (site, redundancy group) from channels."""
        groups: dict[tuple[str, str], list[ChannelRef]] = {}
        for ch in channels:
            if ch.group:
                groups.setdefault((ch.site, ch.group), []).append(ch)
        events: list[FailoverEvent] = []
        for (site, group), members in groups.items():
            primaries = [c for c in members if c.role == "primary"]
            backups = [c for c in members if c.role == "backup"]
            if not primaries or not backups:
                continue
            primary_states = {self.state_of("channel", c.key) for c in primaries}
            carrying = [
                c.key
                for c in backups
                if self.state_of("channel", c.key) in (State.UP, State.DEGRADED)
            ]
            previous = self.failover.get((site, group))
            primary_down = primary_states == {State.DOWN}
            primary_up = bool(primary_states & {State.UP, State.DEGRADED})
            if primary_down and carrying and not (previous and previous.on_backup):
                kind, active = FailoverKind.ON_BACKUP, carrying[0]
            elif primary_up and previous is not None and previous.on_backup:
                kind, active = FailoverKind.ON_PRIMARY, primaries[0].key
            else:
                continue
            # The switch happened when the primary went down (or came back), not at detection.
            when = max(
                (self.tracked[("channel", c.key)].since for c in primaries
                 if ("channel", c.key) in self.tracked),
                default=at,
            )  # fmt: skip
            self.failover[(site, group)] = FailoverState(kind is FailoverKind.ON_BACKUP, active)
            events.append(
                FailoverEvent(
                    site_key=site,
                    redundancy_group=group,
                    vantage=self.vantage,
                    at=when,
                    kind=kind.value,
                    active_channel=active,
                )
            )
        if events:
            with self.engine.begin() as conn:
                bulk_insert(
                    conn,
                    FailoverEvent.__table__,  # type: ignore[arg-type]
                    [
                        {
                            "site_key": e.site_key,
                            "redundancy_group": e.redundancy_group,
                            "vantage": e.vantage,
                            "at": e.at,
                            "kind": e.kind,
                            "active_channel": e.active_channel,
                            "detail": None,
                        }
                        for e in events
                    ],
                )
        return events

    def detect_dc_switch(self, site: str, site_kind: str, at: dt.datetime) -> FailoverEvent | None:
        """Record a switch between the primary and the reserve DC, seen at the service address.

        ``site``/``site_kind`` are where the host answering at the service address stands.
        The first observation only sets the baseline (no event) unless the reserve is active.
        """
        if site_kind not in ("dc_primary", "dc_reserve"):
            return None
        previous = self.active_dc
        self.active_dc = (site, site_kind)
        if previous is not None and previous[1] == site_kind:
            return None
        if previous is None and site_kind == "dc_primary":
            return None
        kind = (
            FailoverKind.DC_RESERVE_ACTIVE if site_kind == "dc_reserve"
            else FailoverKind.DC_PRIMARY_ACTIVE
        )  # fmt: skip
        event = {
            "site_key": site, "redundancy_group": None, "vantage": self.vantage, "at": at,
            "kind": kind.value, "active_channel": None, "detail": "service address",
        }  # fmt: skip
        with self.engine.begin() as conn:
            bulk_insert(conn, FailoverEvent.__table__, [event])  # type: ignore[arg-type]
        return FailoverEvent(**event)

    def on_backup(self) -> dict[tuple[str, str], FailoverState]:
        """Current failover state per (site, redundancy group)."""
        return dict(self.failover)

    # -- persistence -------------------------------------------------------------------------------

    def _persist(self, transitions: Sequence[Transition]) -> None:
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[dict[str, Any]] = []
        new_keys: list[tuple[str, str]] = []
        for (kind, key), t in self.tracked.items():
            if not t.dirty:
                continue
            values = {
                "state": t.state.value,
                "since": t.since,
                "candidate": t.candidate.value if t.candidate else None,
                "streak": t.streak,
                "streak_started_at": t.streak_started_at,
                "last_seen_at": t.last_seen_at,
                "detail": t.detail,
            }
            if t.row_id is None:
                new_rows.append(
                    {"object_kind": kind, "object_key": key, "vantage": self.vantage, **values}
                )
                new_keys.append((kind, key))
            else:
                changed_rows.append({"_id": t.row_id, **values})
            t.dirty = False
        with self.engine.begin() as conn:
            if transitions:
                bulk_insert(
                    conn,
                    StatusTransition.__table__,  # type: ignore[arg-type]
                    [
                        {
                            "object_kind": tr.kind,
                            "object_key": tr.key,
                            "vantage": tr.vantage,
                            "at": tr.at,
                            "state": tr.state.value,
                            "previous": tr.previous.value if tr.previous else None,
                            "reason": tr.reason,
                            "source": self.source,
                        }
                        for tr in transitions
                    ],
                )
            if new_rows:
                bulk_insert(conn, ObjectState.__table__, new_rows)  # type: ignore[arg-type]
                ids = conn.execute(
                    select(ObjectState.id, ObjectState.object_kind, ObjectState.object_key).where(
                        ObjectState.vantage == self.vantage
                    )
                ).all()
                by_key = {(k, key): ident for ident, k, key in ids}
                for pair in new_keys:
                    self.tracked[pair].row_id = by_key[pair]
            if changed_rows:
                table: Table = ObjectState.__table__  # type: ignore[assignment]
                conn.execute(
                    update(table)
                    .where(table.c.id == bindparam("_id"))
                    .values({name: bindparam(name) for name in changed_rows[0] if name != "_id"}),
                    changed_rows,
                )
