"""workstation hostname search index on SQLite: an FTS5 trigram index kept by triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

The helpdesk search finds a site by any AWP hostname containing what was typed. Without an
index, SQLite checks every hostname (about 2 ms for the 31,695 AWPs of the demo region, on most
searches). ``workstation_hostname_fts`` is an external-content FTS5 table with the trigram
tokenizer over ``workstation.hostname``, so ``LIKE '%needle%'`` with three or more characters
looks up trigrams instead (about 0.1 ms). It stores the index only; the hostnames stay in
``workstation``. Three triggers keep it exact for every writer. The table is not a model: it
is left out of the models-to-schema comparison by :func:`cmdb.migrate.include_name`.

On SQLite builds without FTS5, and on PostgreSQL, this migration does nothing and the search
scans as before (see docs/web-ui.md).

Later migrations that rebuild ``workstation`` with a batch operation on SQLite drop its
triggers: they must call :func:`create` again.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Spelled out (no string building): the table name is a constant of this migration.
_TRIGGERS = (
    """CREATE TRIGGER workstation_hostname_fts_ai AFTER INSERT ON workstation BEGIN
        INSERT INTO workstation_hostname_fts(rowid, hostname) VALUES (new.id, new.hostname);
    END""",
    """CREATE TRIGGER workstation_hostname_fts_ad AFTER DELETE ON workstation BEGIN
        INSERT INTO workstation_hostname_fts(workstation_hostname_fts, rowid, hostname)
        VALUES ('delete', old.id, old.hostname);
    END""",
    """CREATE TRIGGER workstation_hostname_fts_au AFTER UPDATE OF id, hostname ON workstation
    BEGIN
        INSERT INTO workstation_hostname_fts(workstation_hostname_fts, rowid, hostname)
        VALUES ('delete', old.id, old.hostname);
        INSERT INTO workstation_hostname_fts(rowid, hostname) VALUES (new.id, new.hostname);
    END""",
)
_DROP = (
    "DROP TRIGGER IF EXISTS workstation_hostname_fts_ai",
    "DROP TRIGGER IF EXISTS workstation_hostname_fts_ad",
    "DROP TRIGGER IF EXISTS workstation_hostname_fts_au",
    "DROP TABLE IF EXISTS workstation_hostname_fts",
)


def fts5_available(conn: Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (SQLite 3.34 and newer)."""
    try:
        conn.execute(
            text("CREATE VIRTUAL TABLE temp.kontur_fts5_probe USING fts5(x, tokenize='trigram')")
        )
    except OperationalError:  # "no such module: fts5" or "no such tokenizer: trigram"
        return False
    conn.execute(text("DROP TABLE temp.kontur_fts5_probe"))
    return True


def create(conn: Connection) -> None:
    """Create the index and its triggers and fill it from ``workstation``."""
    conn.execute(
        text(
            "CREATE VIRTUAL TABLE workstation_hostname_fts USING fts5(hostname, "
            "content='workstation', content_rowid='id', tokenize='trigram')"
        )
    )
    for trigger in _TRIGGERS:
        conn.execute(text(trigger))
    conn.execute(
        text("INSERT INTO workstation_hostname_fts(workstation_hostname_fts) VALUES ('rebuild')")
    )


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite" and fts5_available(conn):
        create(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for statement in _DROP:
        conn.execute(text(statement))
