"""Availability maths: where every second of an interval went, exactly, from the status ledger.

The definitions (states, vantage combination, maintenance, SLI, month boundaries, failover
statistics, aggregation) are in ``docs/sla.md``; this module implements exactly those.

* :func:`month_bounds` turns ``2026-10`` into the month's [start, end) in UTC for the region's zone.
* :func:`compute_seconds` is the pure core for one object: per-vantage transitions, the state each
  vantage was in before them, maintenance windows and an interval → :class:`Seconds`.
* :func:`object_seconds` is the same maths for every object of a kind, from the database: one
  query per kind returns, per (object, vantage), the interval's transitions packed into one value
  and the state before the start (on PostgreSQL: the state at the ledger's last month boundary
  before it, :func:`ledger_boundary`, and the transitions from there); objects are added up
  while the rows stream in.
* :func:`build_uptime_report` adds the CMDB (names, sites, SLA targets), maintenance windows,
  groups, failover statistics and outages per day, and returns an :class:`UptimeReport`.

All of them run the same integer arithmetic on microseconds (the ledger's resolution), so
nothing is rounded before the final division into float seconds. An object's timeline is a
sorted list of *events*, each one int: ``µs << 8 | slot << 2 | state code`` (µs since the start,
or since a fixed epoch with the start given as an origin); slot 0 is maintenance (code 1 in,
0 out), slots 1… are the object's vantage points. The combined state
of all slots is one int (2 bits per slot), advanced by table lookups; time is added up only
where the category (up, down, degraded, maintenance, unknown, plus the disagreement flag)
changes.

Errors: :class:`ValueError` for bad arguments (a malformed month, naive datetimes, end ≤ start,
an unknown object kind); database errors pass through unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import islice, repeat
from operator import lshift, or_
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, bindparam, select, text
from sqlalchemy.orm import aliased

from cmdb.choices import FailoverKind, ObjectKind, State
from cmdb.models import (
    Channel,
    Device,
    District,
    FailoverEvent,
    MaintenanceWindow,
    Organization,
    Region,
    Site,
    VipnetNode,
    Workstation,
)
from cmdb.types import UTCDateTime, utcnow
from cmdb.uptime_types import FailoverStats, GroupUptime, ObjectUptime, Seconds, UptimeReport

logger = logging.getLogger(__name__)

_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MONTH_RE = re.compile(r"^\s*(?:(\d{4})-(\d{1,2})|(\d{1,2})\.(\d{4}))\s*$")

#: State codes of the event encoding (2 bits).
CODES: Mapping[str, int] = {"unknown": 0, "up": 1, "degraded": 2, "down": 3}
#: At most this many vantage points per object (slots 1…63 of an 8-bit event tag).
MAX_VANTAGES = 63
#: Object kinds in report order.
KIND_ORDER: tuple[str, ...] = ("channel", "site", "device", "vipnet_node", "workstation")
#: Group levels in report order.
LEVELS: tuple[str, ...] = ("site", "organization", "district", "region")

# Categories (index into the per-object sums): base × 2 + disagreement flag.
_UP, _DOWN, _DEGRADED, _MAINTENANCE, _UNKNOWN = 0, 2, 4, 6, 8


# --- month boundaries ------------------------------------------------------------------------


def local_midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The first instant of a local day, in UTC.

    ``fold=0`` is right both ways: in a gap at midnight it gives the moment of the jump (the
    first existing instant of the day), at an ambiguous midnight the earlier one.
    """
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.UTC)


def parse_month(month: str) -> tuple[int, int]:
    """``2026-10`` (or ``10.2026``) → (2026, 10); anything else is a :class:`ValueError`."""
    match = _MONTH_RE.match(month)
    if not match:
        raise ValueError(f"bad month {month!r}: expected YYYY-MM, e.g. 2026-10")
    year_text, month_text = (match[1], match[2]) if match[1] else (match[4], match[3])
    year, number = int(year_text), int(month_text)
    if not 1 <= number <= 12 or year < 1:
        raise ValueError(f"bad month {month!r}: expected YYYY-MM with a month 01..12")
    return year, number


def month_bounds(month: str, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month ``YYYY-MM`` in ``zone`` as [first local midnight, next one) in UTC."""
    year, number = parse_month(month)
    first = dt.date(year, number, 1)
    following = dt.date(year + number // 12, number % 12 + 1, 1)
    return local_midnight(first, zone), local_midnight(following, zone)


def zone_name(zone: dt.tzinfo) -> str:
    """The IANA name of a zone (``Europe/Moscow``), or its str() for other tzinfo objects."""
    return str(getattr(zone, "key", None) or zone)


# --- the core: tables and the tally ----------------------------------------------------------


def _category(joint: int) -> int:
    """Category of a combined state (2 bits per slot; slot 0 is maintenance)."""
    if joint & 3:
        return _MAINTENANCE
    up = degraded = down = 0
    joint >>= 2
    while joint:
        code = joint & 3
        if code == 1:
            up += 1
        elif code == 2:
            degraded += 1
        elif code == 3:
            down += 1
        joint >>= 2
    if up:
        base = _UP
    elif degraded:
        base = _DEGRADED
    elif down:
        base = _DOWN
    else:
        base = _UNKNOWN
    return base + (1 if down and (up or degraded) else 0)


def _next_joint(joint: int, tag: int) -> int:
    """The combined state after an event with ``tag`` (slot × 4 + code)."""
    shift = 2 * (tag >> 2)
    return (joint & ~(3 << shift)) | ((tag & 3) << shift)


#: A state of the machine is a *row*: ``row[tag]`` is the state after an event with that tag,
#: ``row[-1]`` its category. Advancing is one subscript per event, with no arithmetic.
Row = Any


@cache
def _fast_rows() -> list[list[Any]]:
    """The states of up to three vantages and maintenance (8 bits), as lists: 16 tags + category."""
    rows: list[list[Any]] = [[None] * 17 for _ in range(256)]
    for joint, row in enumerate(rows):
        for tag in range(16):
            row[tag] = rows[_next_joint(joint, tag)]
        row[16] = _category(joint)
    return rows


class _LazyRow(dict[int, Any]):
    """A state with more than three vantages: its next states are made on first use."""

    __slots__ = ("joint", "states")

    def __init__(self, joint: int, states: _LazyStates) -> None:
        super().__init__({-1: _category(joint)})
        self.joint, self.states = joint, states

    def __missing__(self, tag: int) -> _LazyRow:
        row = self[tag] = self.states[_next_joint(self.joint, tag)]
        return row


class _LazyStates(dict[int, _LazyRow]):
    """The states met so far of objects with more than three vantages, by combined state."""

    def __missing__(self, joint: int) -> _LazyRow:
        row = self[joint] = _LazyRow(joint, self)
        return row


class _Machine:
    """The state machine of one computation: flat rows, or lazy ones past three vantages."""

    def __init__(self) -> None:
        self.lazy: _LazyStates | None = None

    def row(self, joint: int, vantages: int) -> Row:
        """The state ``joint`` (2 bits per slot) of an object with ``vantages`` vantage points."""
        if vantages <= 3:
            return _fast_rows()[joint]
        if vantages > MAX_VANTAGES:
            raise ValueError(f"more than {MAX_VANTAGES} vantage points for one object")
        if self.lazy is None:
            self.lazy = _LazyStates()
        return self.lazy[joint]


def _tally(
    period: int,
    events: list[int],
    row: Row,
    downs: list[int] | None = None,
    *,
    origin: int = 0,
) -> tuple[int, int, int, int, int, int]:
    """Add up one object's timeline → µs (up, down, degraded, unknown, maintenance, disagreement).

    ``events`` are encoded ints (sorted here) whose times count from any fixed instant; the
    interval is [origin, origin + period) on that scale. ``row`` is the combined state before
    the first event (:class:`_Machine`); events before ``origin`` only move it to the state at
    ``origin``. The instants (µs since ``origin``) the object became down, for more than no time
    at all, are appended to ``downs`` if given.
    """
    events.sort()
    first = 0
    if events and events[0] >> 8 < origin:
        first = bisect_left(events, origin << 8)
        for event in events[:first]:
            row = row[event & 255]
    sums = [0] * 10
    cur = row[-1]
    # The loops below run once per ledger row. A category's time is the sum of the instants it
    # ended minus those it began. Without outages to note, no test: an event that keeps the
    # category adds and takes away the same instant (cheaper than asking, when most events
    # change it). Categories are small ints (`is` compares them); 2 is _DOWN.
    sums[cur] -= origin
    if downs is None:
        for event in islice(events, first, None) if first else events:
            row = row[event & 255]
            t = event >> 8
            sums[cur] += t
            cur = row[-1]
            sums[cur] -= t
    else:
        marks = len(downs)
        t_prev = origin
        for event in islice(events, first, None) if first else events:
            row = row[event & 255]
            if row[-1] is not cur:
                t = event >> 8
                sums[cur] += t
                if row[-1] == 2:
                    downs.append(t - origin)
                elif cur == 2 and t == t_prev and len(downs) > marks and downs[-1] == t - origin:
                    downs.pop()  # down for no time at all: several slots changed at one instant
                cur = row[-1]
                sums[cur] -= t
                t_prev = t
    sums[cur] += origin + period
    up, down, degraded = sums[0] + sums[1], sums[2] + sums[3], sums[4] + sums[5]
    maintenance = sums[6] + sums[7]
    unknown = period - up - down - degraded - maintenance
    return up, down, degraded, unknown, maintenance, sums[1] + sums[3] + sums[5] + sums[7]


def _seconds(us: Sequence[int]) -> Seconds:
    """Seconds from µs (up, down, degraded, unknown, maintenance, disagreement)."""
    up, down, degraded, unknown, maintenance, disagreement = us
    return Seconds(
        up / 1e6, down / 1e6, degraded / 1e6, unknown / 1e6, maintenance / 1e6, disagreement / 1e6
    )


def _merge(windows: Iterable[tuple[int, int]], period: int) -> list[tuple[int, int]]:
    """Clip windows to [0, period) and merge the overlapping or touching ones."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted((max(a, 0), min(b, period)) for a, b in windows):
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _add_maintenance(
    events: list[int], windows: Iterable[tuple[int, int]], origin: int, period: int
) -> int:
    """Put merged maintenance windows (µs since start) on slot 0 (start = origin on the events'
    scale); returns the slot's state at the start (1: in a window)."""
    at_start = 0
    for a, b in _merge(windows, period):
        if a == 0:
            at_start = 1
        else:
            events.append((origin + a) << 8 | 1)
        if b < period:
            events.append((origin + b) << 8)
    return at_start


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value


def _check_interval(start: dt.datetime, end: dt.datetime) -> int:
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        raise ValueError(f"empty interval: end {end.isoformat()} ≤ start {start.isoformat()}")
    return (end - start) // _US


def compute_seconds(
    start: dt.datetime,
    end: dt.datetime,
    transitions: Mapping[str, Sequence[tuple[dt.datetime, State | str]]],
    *,
    initial: Mapping[str, State | str] | None = None,
    maintenance: Sequence[tuple[dt.datetime, dt.datetime]] = (),
) -> Seconds:
    """Where the time of [start, end) went for one object (the pure core; see docs/sla.md).

    ``transitions`` maps each vantage point to its (instant, new state) changes; ``initial`` the
    state each vantage was in before its first listed change (missing: unknown). Changes before
    ``start`` only set the state at ``start``; changes at or after ``end`` are ignored.
    ``maintenance`` is a list of [from, to) windows (overlaps allowed).
    """
    period = _check_interval(start, end)
    initial = initial or {}
    events: list[int] = []
    joint = 0
    vantages = sorted(set(transitions) | set(initial))
    for slot, vantage in enumerate(vantages, start=1):
        at_start = CODES[State(initial[vantage]).value] if vantage in initial else 0
        tag = slot << 2
        last_before: dt.datetime | None = None
        for at, new in transitions.get(vantage, ()):
            code = CODES[State(new).value]
            if _aware(at, "transition time") < start:
                if last_before is None or at >= last_before:
                    last_before, at_start = at, code
            elif at < end:
                events.append(((at - start) // _US) << 8 | tag | code)
        joint |= at_start << (2 * slot)
    windows = []
    for a, b in maintenance:
        _aware(a, "maintenance start")
        _aware(b, "maintenance end")
        windows.append(((a - start) // _US, (b - start) // _US))
    joint |= _add_maintenance(events, windows, 0, period)
    return _seconds(_tally(period, events, _Machine().row(joint, len(vantages))))


# --- reading the ledger ----------------------------------------------------------------------

_CODE_SQL = "CASE state WHEN 'up' THEN 1 WHEN 'degraded' THEN 2 WHEN 'down' THEN 3 ELSE 0 END"
_CODE_CHAR_SQL = (
    "CASE state WHEN 'up' THEN '1' WHEN 'degraded' THEN '2' WHEN 'down' THEN '3' ELSE '0' END"
)
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: Instants up to here fit in 55 bits of µs since _PG_EPOCH (year 3141): see _pg_events.
_PG_FAST_END = _PG_EPOCH + dt.timedelta(microseconds=2**55)
#: Ledger boundaries come this long before a month starts in UTC (migration 0006).
_LEAD = dt.timedelta(hours=14)


def ledger_boundary(at: dt.datetime) -> dt.datetime:
    """The last ledger boundary at or before ``at``: 10:00 UTC on the last day of a month.

    The database keeps every object's state at each boundary (``ledger_month_state`` with
    ``ledger_last_state``, PostgreSQL; docs/sla.md §11). A boundary precedes midnight of the 1st
    in every time zone (UTC−12…UTC+14), so a month's report reads at most 26 hours of the ledger
    before its start (Moscow: 11).
    """
    shifted = _aware(at, "at").astimezone(dt.UTC) + _LEAD
    try:
        return dt.datetime(shifted.year, shifted.month, 1, tzinfo=dt.UTC) - _LEAD
    except OverflowError:  # January of year 1: no boundary before it, read everything
        return dt.datetime.min.replace(tzinfo=dt.UTC)


# PostgreSQL, on the driver's binary cursor (no per-row work in SQLAlchemy), one statement (one
# snapshot) from the last boundary B before the start:
# * the state at B of every object and vantage: ledger_month_state at B, and ledger_last_state
#   for those whose transitions all precede B (the triggers of migration 0006 keep both);
# * per (object, vantage) the transitions of [B, end): their instants as one bytea of
#   timestamptz_send values (the server's own int64 µs since 2000-01-01, big-endian: exact, no
#   arithmetic on the server) and their states run together in one string ('updownup…': the
#   four names are told apart here), in the same order. Those before the start only set its
#   state.
# A merge of the three parts by object key (each read in key order from an index; the
# parenthesized ORDER BYs and the exact column types let the planner merge instead of sorting
# the union) emits each object's rows together while the scan goes on: each object is added up
# here as soon as they have arrived, while the server works on the next ones. Hash aggregation
# and sorting would hold every row back until the end, hence the planner settings. Nothing
# before B is read, however long the history.
_PG_LEDGER = """
    (SELECT object_key, vantage, state::text AS prior, NULL::bytea AS instants, NULL::text AS codes
       FROM ledger_month_state
      WHERE object_kind = %(kind)s AND boundary = %(boundary)s
      ORDER BY object_key)
    UNION ALL
    (SELECT object_key, vantage, state::text, NULL::bytea, NULL::text
       FROM ledger_last_state
      WHERE object_kind = %(kind)s AND at < %(boundary)s
      ORDER BY object_key)
    UNION ALL
    SELECT object_key, vantage, NULL::text,
           string_agg(timestamptz_send(at), ''::bytea), string_agg(state, '')
      FROM status_transition
     WHERE object_kind = %(kind)s AND at >= %(boundary)s AND at < %(end)s
     GROUP BY object_key, vantage
     ORDER BY object_key
"""
_PG_SETTINGS = {
    "jit": "off",  # compiling this aggregate costs more than it saves
    "work_mem": "'64MB'",  # the per-group byte strings need room
    "max_parallel_workers_per_gather": "0",  # one streaming plan, no gather
    "enable_hashagg": "off",  # a group aggregate over the index streams …
    "enable_sort": "off",  # … a hash aggregate or a sort would not
}

# SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): µs since 1970 from strftime's whole seconds
# and the text's fraction. The state before start is the row with max(at) (SQLite's bare-column
# rule for min/max aggregates): the embedded default's ledger is small, and has no boundary
# states (no triggers there).
_SQLITE_LEDGER = text(
    f"""
    SELECT object_key, vantage, NULL AS prior,
           group_concat(CAST(strftime('%s', at) AS INTEGER) * 1000000
                        + CAST(substr(at, 21, 6) AS INTEGER)) AS instants,
           group_concat({_CODE_CHAR_SQL}, '') AS codes
      FROM status_transition
     WHERE object_kind = :kind AND at >= :start AND at < :end
     GROUP BY object_key, vantage
    UNION ALL
    SELECT object_key, vantage, prior, NULL, NULL FROM (
        SELECT object_key, vantage, {_CODE_SQL} AS prior, max(at) AS last_at
          FROM status_transition
         WHERE object_kind = :kind AND at < :start
         GROUP BY object_key, vantage
    ) AS before_start
    ORDER BY object_key, vantage
    """  # noqa: S608 - constant SQL
).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))

#: Rows per network round of the PostgreSQL stream.
_CHUNK = 1000
#: Objects decoded at once.
_BATCH = 64
#: Per slot: the letter left of a state's name (see _pg_tags) or its code digit (SQLite) → the
#: event tag (slot × 4 + code).
_PG_TAGS = [bytes.maketrans(b"kpgw", bytes((slot << 2) | code for code in range(4)))
            for slot in range(MAX_VANTAGES + 1)]  # fmt: skip
#: Per slot: the tags of 'unknown' as the letters leave them (unknown, down) → unknown.
_PG_UNKNOWN = [
    (bytes((slot << 2, slot << 2 | 3)), bytes((slot << 2,))) for slot in range(MAX_VANTAGES + 1)
]
_SQLITE_TAGS = [bytes.maketrans(b"0123", bytes((slot << 2) | code for code in range(4)))
                for slot in range(MAX_VANTAGES + 1)]  # fmt: skip
_EIGHT = repeat(8)


def _pg_tags(states: str, slot: int) -> bytes:
    """'updowndegradedunknown…' → one tag per name, with two C-level passes.

    Without the letters u, d, o, n, e, r, a the names are 'p', 'w', 'g' and 'kw' (up, down,
    degraded, unknown): 'k' occurs only in 'unknown', always followed by its own 'w'.
    """
    return states.encode().translate(_PG_TAGS[slot], b"udonera").replace(*_PG_UNKNOWN[slot])


def _pg_instants(blob: bytes | bytearray) -> array[int]:
    values = array("q")
    values.frombytes(blob)
    if sys.byteorder == "little":
        values.byteswap()
    return values


def _pg_events(blobs: list[bytes], tags: list[bytes]) -> list[int]:
    """Events from timestamptz_send values and their tags, without a Python step per event.

    Each big-endian int64 whose top 9 bits are 0 (instants from 2000 to 3141), moved one byte to
    the left, is the instant << 8; its last byte, the next value's top byte, is 0 and takes the
    tag. All of an object's vantage points at once.
    """
    buf = bytearray().join(blobs)
    del buf[0]
    buf.append(0)
    buf[7::8] = b"".join(tags)
    return _pg_instants(buf).tolist()


def _pg_events_any(blobs: list[bytes], tags: list[bytes]) -> list[int]:
    """Events from timestamptz_send values and their tags, for instants before 2000 too."""
    events: list[int] = []
    for blob, tag in zip(blobs, tags, strict=True):
        events += map(or_, map(lshift, _pg_instants(blob), _EIGHT), tag)
    return events


def _sqlite_tags(codes: str, slot: int) -> bytes:
    return codes.encode().translate(_SQLITE_TAGS[slot])


def _sqlite_events(joined: list[str], tags: list[bytes]) -> list[int]:
    events: list[int] = []
    for text_, tag in zip(joined, tags, strict=True):
        events += map(or_, map(lshift, map(int, text_.split(",")), _EIGHT), tag)
    return events


def _pg_rows(conn: Connection, params: Mapping[str, Any]) -> Generator[Any]:
    import psycopg

    raw: Any = conn.connection.driver_connection
    with raw.cursor(binary=True) as cursor:
        for name, value in _PG_SETTINGS.items():
            cursor.execute(f"SET LOCAL {name} = {value}")
        try:
            yield from cursor.stream(_PG_LEDGER, params, size=_CHUNK)
        except psycopg.NotSupportedError:  # libpq < 17 has no chunked rows: all at once
            cursor.execute(_PG_LEDGER, params)
            yield from cursor.fetchall()
        for name in _PG_SETTINGS:  # the rest of the transaction plans as usual
            cursor.execute(f"SET LOCAL {name} TO DEFAULT")


#: One object's ledger over the interval: key, events (not sorted), the combined state of its
#: vantage points before the first event (2 bits per slot 1…; slot 0, maintenance, is clear) and
#: how many vantage points it has.
_Object = tuple[str, list[int], int, int]


def _ledger_objects(
    conn: Connection, kind: str, start: dt.datetime, end: dt.datetime
) -> tuple[int, Generator[_Object]]:
    """One query: each object of ``kind`` with ledger rows before ``end``, as it is complete.

    Returns the start in the events' time scale (µs since 2000 on PostgreSQL, since 1970 on
    SQLite) and the objects. Slots are given to vantage points in the order the rows come.
    """
    rows: Generator[Any] | CursorResult[Any]
    decode: Callable[[list[Any], list[bytes]], list[int]]
    tagged: Callable[[str, int], bytes]
    prior_code: Callable[[Any], int]
    if conn.dialect.name == "postgresql":
        boundary = ledger_boundary(start)
        rows = _pg_rows(conn, {"kind": kind, "boundary": boundary, "end": end})
        fast = boundary >= _PG_EPOCH and end <= _PG_FAST_END
        decode = _pg_events if fast else _pg_events_any
        tagged, prior_code, base = _pg_tags, CODES.__getitem__, _PG_EPOCH
    else:
        rows = conn.execute(_SQLITE_LEDGER, {"kind": kind, "start": start, "end": end})
        decode, tagged, prior_code, base = _sqlite_events, _sqlite_tags, int, _EPOCH

    def objects() -> Generator[_Object]:
        # Complete objects wait in `ready` (key, state, vantages, events) until a batch of them
        # is decoded at once: fewer calls per object.
        ready: list[tuple[str, int, int, int]] = []
        times: list[Any] = []
        tags: list[bytes] = []

        def batch() -> Iterator[_Object]:
            events = decode(times, tags) if times else []
            times.clear()
            tags.clear()
            at = 0
            for key, joint, vantages, count in ready:
                yield key, events[at : at + count], joint, vantages
                at += count
            ready.clear()

        key: str | None = None
        slots: dict[str, int] = {}
        joint = count = 0
        try:
            for row_key, vantage, prior, instants, codes in rows:
                if row_key != key:
                    if key is not None:
                        ready.append((key, joint, len(slots), count))
                        if len(ready) == _BATCH:
                            yield from batch()
                    key, slots, joint, count = row_key, {}, 0, 0
                slot = slots.get(vantage)
                if slot is None:
                    slot = slots[vantage] = len(slots) + 1
                    if slot > MAX_VANTAGES:
                        raise ValueError(
                            f"more than {MAX_VANTAGES} vantage points for {kind} {key}"
                        )
                if instants is not None:
                    times.append(instants)
                    tags.append(tagged(codes, slot))
                    count += len(tags[-1])
                if prior is not None:
                    joint |= prior_code(prior) << (2 * slot)
        finally:
            # Stopped early (an error here or in the caller): end the query now, not when the
            # garbage collector gets to it; an unfinished stream holds the connection's lock,
            # and the connection's rollback would wait for it forever.
            rows.close()
        if key is not None:
            ready.append((key, joint, len(slots), count))
        yield from batch()

    return (start - base) // _US, objects()


def _measure(
    conn: Connection,
    kind: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    keys: Iterable[str],
    maintenance: Mapping[str, Sequence[tuple[dt.datetime, dt.datetime]]],
    downs: list[int] | None,
) -> tuple[list[str], list[tuple[int, int, int, int, int, int]]]:
    """µs per category for every object of ``kind`` in the ledger or in ``keys``, key-sorted.

    The instants (µs since start) objects became down are appended to ``downs`` if given.
    """
    period = (end - start) // _US
    machine = _Machine()
    results: dict[str, tuple[int, int, int, int, int, int]] = {}
    origin, objects = _ledger_objects(conn, kind, start, end)

    def windows(key: str, events: list[int]) -> int:
        spans = [((a - start) // _US, (b - start) // _US) for a, b in maintenance.get(key, ())]
        return _add_maintenance(events, spans, origin, period)

    try:
        for key, events, joint, vantages in objects:
            in_window = windows(key, events) if maintenance and key in maintenance else 0
            row = machine.row(joint | in_window, vantages)
            results[key] = _tally(period, events, row, downs, origin=origin)
    finally:
        objects.close()
    for key in keys:
        if key not in results:
            events = []
            row = machine.row(windows(key, events), 0)
            results[key] = _tally(period, events, row, downs, origin=origin)
    ordered = sorted(results)
    return ordered, [results[key] for key in ordered]


def object_seconds(
    engine: Engine,
    kind: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    keys: Iterable[str] = (),
    maintenance: Mapping[str, Sequence[tuple[dt.datetime, dt.datetime]]] | None = None,
) -> dict[str, Seconds]:
    """The maths alone: :class:`Seconds` per object of ``kind`` over [start, end).

    Objects with ledger rows before ``end``, and ``keys`` (all unknown when the ledger has
    nothing on them); ``maintenance`` maps object keys to their [from, to) windows.
    """
    _check_interval(start, end)
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    with engine.connect() as conn:
        ordered, values = _measure(
            conn, kind, start, end, keys=keys, maintenance=maintenance or {}, downs=None
        )
    return {key: _seconds(us) for key, us in zip(ordered, values, strict=True)}


# --- the CMDB side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _SiteInfo:
    name: str
    district: tuple[str, str] | None  # (code, name)
    organization: tuple[str, str] | None  # (code, short name)


@dataclass(frozen=True)
class _ObjectInfo:
    name: str | None
    site: str | None
    sla_target_pct: Decimal | None = None


def _sites(conn: Connection) -> dict[str, _SiteInfo]:
    query = (
        select(
            Site.code, Site.name, District.code, District.name, Organization.code,
            Organization.short_name,
        )
        .outerjoin(District, Site.district_id == District.id)
        .outerjoin(Organization, Site.organization_id == Organization.id)
    )  # fmt: skip
    return {
        code: _SiteInfo(
            name=name,
            district=(d_code, d_name) if d_code else None,
            organization=(o_code, o_name) if o_code else None,
        )
        for code, name, d_code, d_name, o_code, o_name in conn.execute(query)
    }


def _objects(conn: Connection, kind: str) -> dict[str, _ObjectInfo]:
    """The CMDB objects of ``kind``: key → name, site code (and SLA target for channels)."""
    if kind == "channel":
        return {
            key: _ObjectInfo(name, site, target)
            for key, name, site, target in conn.execute(
                select(Channel.key, Channel.name, Site.code, Channel.sla_target_pct).join(
                    Site, Channel.a_site_id == Site.id
                )
            )
        }
    if kind == "site":
        return {
            code: _ObjectInfo(name, code)
            for code, name in conn.execute(select(Site.code, Site.name))
        }
    if kind == "device":
        query = select(Device.name, Site.code).join(Site, Device.site_id == Site.id)
        return {name: _ObjectInfo(name, site) for name, site in conn.execute(query)}
    if kind == "workstation":
        query = select(Workstation.hostname, Site.code).join(Site, Workstation.site_id == Site.id)
        return {host: _ObjectInfo(host, site) for host, site in conn.execute(query)}
    if kind == "vipnet_node":
        device_site = aliased(Site)
        awp_site = aliased(Site)
        nodes = (
            select(VipnetNode.vipnet_id, VipnetNode.name, device_site.code, awp_site.code)
            .outerjoin(Device, VipnetNode.device_id == Device.id)
            .outerjoin(device_site, Device.site_id == device_site.id)
            .outerjoin(Workstation, Workstation.vipnet_node_id == VipnetNode.id)
            .outerjoin(awp_site, Workstation.site_id == awp_site.id)
        )
        return {
            vid: _ObjectInfo(name, by_device or by_awp)
            for vid, name, by_device, by_awp in conn.execute(nodes)
        }
    raise AssertionError(kind)  # pragma: no cover - kinds are checked by the caller


def _maintenance(
    conn: Connection, start: dt.datetime, end: dt.datetime
) -> dict[tuple[str, str], list[tuple[dt.datetime, dt.datetime]]]:
    """Windows overlapping [start, end) per (kind, key), a site's spread to what stands there."""
    windows = conn.execute(
        select(MaintenanceWindow.objects, MaintenanceWindow.starts_at, MaintenanceWindow.ends_at)
        .where(MaintenanceWindow.starts_at < end, MaintenanceWindow.ends_at > start)
    ).all()  # fmt: skip
    covered: dict[tuple[str, str], list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    by_site: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    by_device: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for objects, starts_at, ends_at in windows:
        for ref in objects or ():
            kind, key = str(ref.get("kind", "")), str(ref.get("key", ""))
            covered[(kind, key)].append((starts_at, ends_at))
            if kind == "site":
                by_site[key].append((starts_at, ends_at))
            elif kind == "device":
                by_device[key].append((starts_at, ends_at))
    if by_site:
        sites = list(by_site)
        for kind, query in (
            ("device", select(Device.name, Site.code).join(Site, Device.site_id == Site.id)),
            ("channel", select(Channel.key, Site.code).join(Site, Channel.a_site_id == Site.id)),
            (
                "workstation",
                select(Workstation.hostname, Site.code).join(Site, Workstation.site_id == Site.id),
            ),
        ):
            for key, site in conn.execute(query.where(Site.code.in_(sites))):
                covered[(kind, key)].extend(by_site[site])
                if kind == "device":
                    by_device[key].extend(by_site[site])
        awp_nodes = (
            select(VipnetNode.vipnet_id, Site.code)
            .join(Workstation, Workstation.vipnet_node_id == VipnetNode.id)
            .join(Site, Workstation.site_id == Site.id)
            .where(Site.code.in_(sites))
        )
        for key, site in conn.execute(awp_nodes):
            covered[("vipnet_node", key)].extend(by_site[site])
    if by_device:
        nodes = (
            select(VipnetNode.vipnet_id, Device.name)
            .join(Device, VipnetNode.device_id == Device.id)
            .where(Device.name.in_(list(by_device)))
        )
        for key, device in conn.execute(nodes):
            covered[("vipnet_node", key)].extend(by_device[device])
    return covered


# --- failovers --------------------------------------------------------------------------------


def _whole_months(since: dt.datetime, until: dt.datetime, zone: dt.tzinfo) -> int:
    """Whole calendar months from ``since`` to ``until`` in local time (never negative)."""
    a, b = since.astimezone(zone), until.astimezone(zone)
    months = (b.year - a.year) * 12 + (b.month - a.month)
    if (b.day, b.time()) < (a.day, a.time()):
        months -= 1
    return max(months, 0)


def _stays(
    events: Sequence[tuple[dt.datetime, str]], end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """One vantage's stays on backup: on_backup opens, on_primary closes; open ones end at end."""
    stays: list[tuple[dt.datetime, dt.datetime]] = []
    opened: dt.datetime | None = None
    for at, kind in events:
        if kind == FailoverKind.ON_BACKUP.value:
            if opened is None:
                opened = at
        elif opened is not None:
            stays.append((opened, at))
            opened = None
    if opened is not None:
        stays.append((opened, end))
    return stays


def failover_stats(
    events: Iterable[tuple[str, str, str, dt.datetime, str]],
    groups: Iterable[tuple[str, str]],
    start: dt.datetime,
    end: dt.datetime,
    zone: dt.tzinfo,
) -> list[FailoverStats]:
    """Failover statistics per (site, redundancy group) from (site, group, vantage, at, kind).

    ``groups`` are the redundancy groups the CMDB knows (reported even without any event).
    Stays on backup are the union over vantage points (see docs/sla.md).
    """
    per_group: dict[tuple[str, str], dict[str, list[tuple[dt.datetime, str]]]] = {
        pair: {} for pair in groups
    }
    last_on_backup: dict[tuple[str, str], dt.datetime] = {}
    for site, group, vantage, at, kind in sorted(events, key=lambda e: e[3]):
        if at >= end:
            continue
        pair = (site, group)
        per_group.setdefault(pair, {}).setdefault(vantage, []).append((at, kind))
        if kind == FailoverKind.ON_BACKUP.value:
            last_on_backup[pair] = at
    stats = []
    for pair in sorted(per_group):
        stays = sorted(
            stay for events_of in per_group[pair].values() for stay in _stays(events_of, end)
        )
        union: list[tuple[dt.datetime, dt.datetime]] = []
        for a, b in stays:
            if union and a <= union[-1][1]:
                union[-1] = (union[-1][0], max(b, union[-1][1]))
            else:
                union.append((a, b))
        switches = sum(1 for a, _b in union if start <= a < end)
        clipped = [
            (min(b, end) - max(a, start)).total_seconds() for a, b in union if b > start and a < end
        ]
        last = last_on_backup.get(pair)
        stats.append(
            FailoverStats(
                site=pair[0],
                redundancy_group=pair[1],
                switches=switches,
                backup_s=sum(clipped),
                longest_backup_s=max(clipped, default=0.0),
                last_backup_at=last,
                months_without_exercise=None if last is None else _whole_months(last, end, zone),
            )
        )
    return stats


def _failovers(
    conn: Connection, start: dt.datetime, end: dt.datetime, zone: dt.tzinfo
) -> list[FailoverStats]:
    events = conn.execute(
        select(
            FailoverEvent.site_key, FailoverEvent.redundancy_group, FailoverEvent.vantage,
            FailoverEvent.at, FailoverEvent.kind,
        )
        .where(
            FailoverEvent.at < end,
            FailoverEvent.kind.in_([FailoverKind.ON_BACKUP.value, FailoverKind.ON_PRIMARY.value]),
        )
        .order_by(FailoverEvent.at, FailoverEvent.id)
    ).all()  # fmt: skip
    known = conn.execute(
        select(Site.code, Channel.redundancy_group)
        .join(Site, Channel.a_site_id == Site.id)
        .where(Channel.redundancy_group.is_not(None), Channel.role == "backup")
        .distinct()
    ).all()
    return failover_stats(
        ((site, group or "", vantage, at, kind) for site, group, vantage, at, kind in events),
        ((site, group) for site, group in known),
        start,
        end,
        zone,
    )


# --- the report -------------------------------------------------------------------------------


def _label(start: dt.datetime, end: dt.datetime, zone: dt.tzinfo) -> str:
    a, b = start.astimezone(zone), end.astimezone(zone)
    if a.time() == dt.time(0) and b.time() == dt.time(0):
        if a.day == 1 and b.day == 1 and (b.year * 12 + b.month) - (a.year * 12 + a.month) == 1:
            return f"{a.year:04d}-{a.month:02d}"
        return f"{a.date().isoformat()}–{b.date().isoformat()}"
    return f"{a.isoformat(timespec='minutes')}–{b.isoformat(timespec='minutes')}"


def _day_starts(start: dt.datetime, end: dt.datetime, zone: dt.tzinfo) -> list[tuple[int, dt.date]]:
    """(µs since start, local date) of each local day touching [start, end)."""
    day = start.astimezone(zone).date()
    days = [(0, day)]
    while True:
        day += dt.timedelta(days=1)
        at = local_midnight(day, zone)
        if at >= end:
            return days
        days.append(((at - start) // _US, day))


def build_uptime_report(
    engine: Engine,
    start: dt.datetime,
    end: dt.datetime,
    *,
    zone: dt.tzinfo,
    kinds: Sequence[str] = ("channel",),
    label: str | None = None,
) -> UptimeReport:
    """The uptime report of ``kinds`` over [start, end) (times aware; months in ``zone``)."""
    _check_interval(start, end)
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    valid = [k.value for k in ObjectKind]
    wanted = list(dict.fromkeys(kinds))
    for kind in wanted:
        if kind not in valid:
            raise ValueError(f"unknown object kind {kind!r}; valid: {', '.join(valid)}")
    wanted.sort(key=KIND_ORDER.index)
    objects: list[ObjectUptime] = []
    groups: list[GroupUptime] = []
    downs: list[int] = []
    with engine.connect() as conn:
        sites = _sites(conn)
        regions = [(code, name) for code, name in conn.execute(select(Region.code, Region.name))]
        covered = _maintenance(conn, start, end)
        for kind in wanted:
            cmdb = _objects(conn, kind)
            windows = {key: spans for (k, key), spans in covered.items() if k == kind}
            keys, values = _measure(
                conn, kind, start, end, keys=cmdb, maintenance=windows, downs=downs
            )
            unknown = _ObjectInfo(None, None)
            infos = [cmdb.get(key, unknown) for key in keys]
            for key, info, us in zip(keys, infos, values, strict=True):
                site = sites.get(info.site) if info.site else None
                objects.append(
                    ObjectUptime(
                        kind,
                        key,
                        info.name,
                        _seconds(us),
                        info.site,
                        site.district[1] if site and site.district else None,
                        site.organization[1] if site and site.organization else None,
                        info.sla_target_pct,
                    )
                )
            groups.extend(_groups(kind, infos, values, sites, regions))
        failovers = _failovers(conn, start, end, zone)
    outages: dict[dt.date, int] = {}
    if downs:
        downs.sort()
        days = _day_starts(start, end, zone)
        bounds = [bisect_left(downs, offset) for offset, _day in days] + [len(downs)]
        for (_offset, day), first, after in zip(days, bounds, bounds[1:], strict=False):
            if after > first:
                outages[day] = after - first
    logger.debug(
        "uptime report %s–%s (%s): %d objects, %d groups, %d failover groups",
        start.isoformat(), end.isoformat(), ", ".join(wanted), len(objects), len(groups),
        len(failovers),
    )  # fmt: skip
    return UptimeReport(
        start=start,
        end=end,
        zone=zone_name(zone),
        label=label or _label(start, end, zone),
        generated_at=utcnow(),
        objects=objects,
        groups=groups,
        failovers=failovers,
        outages_by_day=dict(sorted(outages.items())),
    )


def _groups(
    kind: str,
    infos: Sequence[_ObjectInfo],
    values: Sequence[tuple[int, int, int, int, int, int]],
    sites: Mapping[str, _SiteInfo],
    regions: Sequence[tuple[str, str]],
) -> list[GroupUptime]:
    """Sums per site, organization, district and the whole region, for one kind."""
    by_site: dict[str | None, list[tuple[int, int, int, int, int, int]]] = defaultdict(list)
    for info, us in zip(infos, values, strict=True):
        by_site[info.site].append(us)
    region = regions[0] if len(regions) == 1 else ("*", "*")
    sums: dict[tuple[str, str], list[int]] = {}
    names: dict[tuple[str, str], str] = {}
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for code, rows in by_site.items():
        total = [sum(column) for column in zip(*rows, strict=True)]
        site = sites.get(code) if code else None
        keys: list[tuple[str, str, str]] = [("region", *region)]
        if code is not None:
            keys.append(("site", code, site.name if site else code))
        if site is not None and site.organization:
            keys.append(("organization", *site.organization))
        if site is not None and site.district:
            keys.append(("district", *site.district))
        for level, key, name in keys:
            group = sums.get((level, key))
            if group is None:
                sums[(level, key)] = list(total)
            else:
                for i, value in enumerate(total):
                    group[i] += value
            names[(level, key)] = name
            counts[(level, key)] += len(rows)
    return [
        GroupUptime(level, key, names[(level, key)], kind, counts[(level, key)],
                    _seconds(sums[(level, key)]))
        for level, key in sorted(sums, key=lambda p: (LEVELS.index(p[0]), p[1]))
    ]  # fmt: skip
