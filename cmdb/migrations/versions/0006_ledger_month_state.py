"""ledger month-boundary state: every object's state at each month boundary, kept by triggers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

Two tables derived from ``status_transition`` (see docs/sla.md §11):

* ``ledger_last_state``: per (object kind, key, vantage) its latest transition;
* ``ledger_month_state``: per object, vantage and *boundary* (10:00 UTC on the last day of every
  month, i.e. 14 h before the month starts in UTC, so before midnight of the 1st in every time
  zone) the state of its last transition before the boundary, for objects with transitions on
  both sides of it. An object whose transitions all precede a boundary has its state there in
  ``ledger_last_state``; one whose transitions all follow it was unknown there.

So an uptime report finds the state at its start from the boundary before it, without reading
the history before that boundary; and an index of the ledger in object order that carries the
state lets it read the month's rows without the table's pages (an index-only scan).

On PostgreSQL, statement-level triggers on ``status_transition`` keep both tables exact for every
writer (collectors, status imports, COPY, hand-made SQL): inserts update the boundaries they can
affect (normally none: a collector appends after its object's last transition), deletes and
updates rebuild the affected objects, TRUNCATE empties them. Writers of one vantage point are
serialized by an advisory lock (taken after the insert, held to the end of the transaction), so
two writers of the same object cannot each miss the other's rows. The existing ledger is
back-filled here. On SQLite (the embedded default, a small ledger) the tables stay empty and the
report reads the earlier rows as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmdb.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The boundaries in (lo, hi]: month starts in UTC shifted back 14 hours. Timestamp arithmetic
# (without a time zone) only, hence immutable. cmdb.sla.ledger_boundary is the same rule.
_BOUNDARIES = """
CREATE FUNCTION ledger_boundaries(lo timestamptz, hi timestamptz) RETURNS SETOF timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT (month - interval '14 hours') AT TIME ZONE 'UTC'
      FROM generate_series(
               date_trunc('month', (lo AT TIME ZONE 'UTC') + interval '14 hours')
                   + interval '1 month',
               (hi AT TIME ZONE 'UTC') + interval '14 hours',
               interval '1 month') AS month
    $$
"""

_PAIR = "t.object_kind = p.object_kind AND t.object_key = p.object_key AND t.vantage = p.vantage"

# The state of pair p at boundary b: its last transition before b (one index descent).
_STATE_AT = f"""(SELECT t.state FROM status_transition AS t
                  WHERE {_PAIR} AND t.at < b.boundary
                  ORDER BY t.at DESC LIMIT 1)"""  # noqa: S608 - constant SQL


def _lock(pairs: str) -> str:
    """Serialize the writers of each vantage point in the statement (in name order)."""
    return f"""
    PERFORM pg_advisory_xact_lock(hashtext('ledger_month_state'), hashtext(v.vantage))
       FROM (SELECT DISTINCT vantage FROM ({pairs}) AS x ORDER BY vantage) AS v;"""  # noqa: S608


# After an insert: per object of the statement, the boundaries from its last transition before
# the statement's first one (or that first one) to its last transition overall. Those before the
# statement's first row gain a row if they had none (the object now has transitions after them);
# the later ones may have a new last transition before them.
_ON_INSERT = f"""
CREATE FUNCTION ledger_state_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_lock("SELECT vantage FROM new_rows")}
    INSERT INTO ledger_month_state (object_kind, boundary, object_key, vantage, state)
    SELECT p.object_kind, b.boundary, p.object_key, p.vantage, {_STATE_AT}
      FROM (SELECT object_kind, object_key, vantage, min(at) AS first_at
              FROM new_rows GROUP BY object_kind, object_key, vantage) AS p
     CROSS JOIN LATERAL (
           SELECT coalesce((SELECT max(t.at) FROM status_transition AS t
                             WHERE {_PAIR} AND t.at < p.first_at), p.first_at) AS lo,
                  (SELECT max(t.at) FROM status_transition AS t WHERE {_PAIR}) AS hi
           ) AS r
     CROSS JOIN LATERAL ledger_boundaries(r.lo, r.hi) AS b(boundary)
        ON CONFLICT (object_kind, boundary, object_key, vantage)
        DO UPDATE SET state = excluded.state;
    INSERT INTO ledger_last_state (object_kind, object_key, vantage, at, state)
    SELECT DISTINCT ON (object_kind, object_key, vantage)
           object_kind, object_key, vantage, at, state
      FROM new_rows
     ORDER BY object_kind, object_key, vantage, at DESC
        ON CONFLICT (object_kind, object_key, vantage)
        DO UPDATE SET at = excluded.at, state = excluded.state
        WHERE excluded.at > ledger_last_state.at;
    RETURN NULL;
END
$$
"""  # noqa: S608 - constant SQL


def _rebuild(pairs: str, *, fresh: bool = False) -> list[str]:
    """Recompute both tables for the objects ``pairs`` (a query of kind, key, vantage).

    ``fresh``: the tables hold nothing on them yet (the back-fill), no need to delete.
    """
    deletes = [] if fresh else [
        f"DELETE FROM ledger_month_state AS t USING ({pairs}) AS p WHERE {_PAIR}",  # noqa: S608
        f"DELETE FROM ledger_last_state AS t USING ({pairs}) AS p WHERE {_PAIR}",  # noqa: S608
    ]  # fmt: skip
    return [
        *deletes,
        f"""INSERT INTO ledger_last_state (object_kind, object_key, vantage, at, state)
    SELECT p.object_kind, p.object_key, p.vantage, l.at, l.state
      FROM ({pairs}) AS p
     CROSS JOIN LATERAL (SELECT t.at, t.state FROM status_transition AS t WHERE {_PAIR}
                          ORDER BY t.at DESC LIMIT 1) AS l""",  # noqa: S608
        f"""INSERT INTO ledger_month_state (object_kind, boundary, object_key, vantage, state)
    SELECT p.object_kind, b.boundary, p.object_key, p.vantage, {_STATE_AT}
      FROM ({pairs}) AS p
     CROSS JOIN LATERAL (SELECT min(t.at) AS lo, max(t.at) AS hi
                           FROM status_transition AS t WHERE {_PAIR}) AS r
     CROSS JOIN LATERAL ledger_boundaries(r.lo, r.hi) AS b(boundary)""",  # noqa: S608
    ]


def _body(*statements: str) -> str:
    return ";\n    ".join(statements) + ";"


_OLD_PAIRS = "SELECT DISTINCT object_kind, object_key, vantage FROM old_rows"
_BOTH_PAIRS = (
    "SELECT object_kind, object_key, vantage FROM old_rows"
    " UNION SELECT object_kind, object_key, vantage FROM new_rows"
)

_ON_DELETE = f"""
CREATE FUNCTION ledger_state_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_lock(_OLD_PAIRS)}
    {_body(*_rebuild(_OLD_PAIRS))}
    RETURN NULL;
END
$$
"""

_ON_UPDATE = f"""
CREATE FUNCTION ledger_state_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_lock(_BOTH_PAIRS)}
    {_body(*_rebuild(_BOTH_PAIRS))}
    RETURN NULL;
END
$$
"""

_ON_TRUNCATE = """
CREATE FUNCTION ledger_state_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ledger_month_state;
    DELETE FROM ledger_last_state;
    RETURN NULL;
END
$$
"""

_TRIGGERS = (
    "CREATE TRIGGER ledger_state_on_insert AFTER INSERT ON status_transition"
    " REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_state_on_insert()",
    "CREATE TRIGGER ledger_state_on_delete AFTER DELETE ON status_transition"
    " REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_state_on_delete()",
    "CREATE TRIGGER ledger_state_on_update AFTER UPDATE ON status_transition"
    " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_state_on_update()",
    "CREATE TRIGGER ledger_state_on_truncate AFTER TRUNCATE ON status_transition"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_state_on_truncate()",
)
_FUNCTIONS = (
    "ledger_state_on_insert()",
    "ledger_state_on_delete()",
    "ledger_state_on_update()",
    "ledger_state_on_truncate()",
    "ledger_boundaries(timestamptz, timestamptz)",
)


def upgrade() -> None:
    op.create_index(
        "ix_status_transition_object_at_state",
        "status_transition",
        ["object_kind", "object_key", "vantage", "at", "state"],
        unique=False,
    )
    op.create_table(
        "ledger_last_state",
        sa.Column("object_kind", sa.String(length=11), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("vantage", sa.String(length=64), nullable=False),
        sa.Column("at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint(
            "object_kind", "object_key", "vantage", name=op.f("pk_ledger_last_state")
        ),
    )
    op.create_table(
        "ledger_month_state",
        sa.Column("object_kind", sa.String(length=11), nullable=False),
        sa.Column("boundary", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("vantage", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint(
            "object_kind", "boundary", "object_key", "vantage", name=op.f("pk_ledger_month_state")
        ),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (_BOUNDARIES, _ON_INSERT, _ON_DELETE, _ON_UPDATE, _ON_TRUNCATE):
        op.execute(statement)
    # The ledger so far (one pass over the objects, a few index descents each).
    everything = "SELECT DISTINCT object_kind, object_key, vantage FROM status_transition"
    for statement in _rebuild(everything, fresh=True):
        op.execute(statement)
    for statement in _TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger in ("insert", "delete", "update", "truncate"):
            op.execute(f"DROP TRIGGER ledger_state_on_{trigger} ON status_transition")
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}")
    op.drop_table("ledger_month_state")
    op.drop_table("ledger_last_state")
    op.drop_index("ix_status_transition_object_at_state", table_name="status_transition")
