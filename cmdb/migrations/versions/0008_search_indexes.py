"""search indexes on SQLite: FTS5 trigram indexes of AWP hostnames and of site codes and names

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

The helpdesk search finds a site by any AWP hostname, site code or site name containing what was
typed. Without an index, SQLite checks every row: about 2 ms for the 31,695 hostnames of the demo
region, and for a needle in Cyrillic about 2.5 ms for the 1,634 sites, since SQLite's own
``lower()`` folds ASCII only and the case folding of Cyrillic is a Python function called twice
per site (``cmdb.db``), holding the interpreter lock. Two external-content FTS5 tables with the
trigram tokenizer (which folds case for all of Unicode) answer substring searches of three or more
characters from an index instead:

* ``workstation_hostname_fts`` over ``workstation.hostname`` (queried with ``LIKE '%needle%'``);
* ``site_name_fts`` over ``site.code`` and ``site.name`` (queried with ``MATCH '"needle"'``).

They store the index only; the text stays in ``workstation`` and ``site``. Triggers keep them
exact for every writer. They are not models: the models-to-schema comparison leaves them out
(:func:`cmdb.migrate.include_name`).

On SQLite builds without FTS5 or its trigram tokenizer, and on PostgreSQL, this migration does
nothing and the search scans as before (see docs/web-ui.md).

Later migrations that rebuild ``workstation`` or ``site`` with a batch operation on SQLite drop
their triggers: they must call :func:`create` again.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Spelled out (no string building): the names are constants of this migration.
_TABLES = (
    "CREATE VIRTUAL TABLE workstation_hostname_fts USING fts5(hostname, "
    "content='workstation', content_rowid='id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE site_name_fts USING fts5(code, name, "
    "content='site', content_rowid='id', tokenize='trigram')",
)
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
    """CREATE TRIGGER site_name_fts_ai AFTER INSERT ON site BEGIN
        INSERT INTO site_name_fts(rowid, code, name) VALUES (new.id, new.code, new.name);
    END""",
    """CREATE TRIGGER site_name_fts_ad AFTER DELETE ON site BEGIN
        INSERT INTO site_name_fts(site_name_fts, rowid, code, name)
        VALUES ('delete', old.id, old.code, old.name);
    END""",
    """CREATE TRIGGER site_name_fts_au AFTER UPDATE OF id, code, name ON site BEGIN
        INSERT INTO site_name_fts(site_name_fts, rowid, code, name)
        VALUES ('delete', old.id, old.code, old.name);
        INSERT INTO site_name_fts(rowid, code, name) VALUES (new.id, new.code, new.name);
    END""",
)
_REBUILD = (
    "INSERT INTO workstation_hostname_fts(workstation_hostname_fts) VALUES ('rebuild')",
    "INSERT INTO site_name_fts(site_name_fts) VALUES ('rebuild')",
)
_DROP = (
    "DROP TRIGGER IF EXISTS workstation_hostname_fts_ai",
    "DROP TRIGGER IF EXISTS workstation_hostname_fts_ad",
    "DROP TRIGGER IF EXISTS workstation_hostname_fts_au",
    "DROP TABLE IF EXISTS workstation_hostname_fts",
    "DROP TRIGGER IF EXISTS site_name_fts_ai",
    "DROP TRIGGER IF EXISTS site_name_fts_ad",
    "DROP TRIGGER IF EXISTS site_name_fts_au",
    "DROP TABLE IF EXISTS site_name_fts",
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
    """Create the indexes and their triggers and fill them from their tables."""
    for statement in (*_TABLES, *_TRIGGERS, *_REBUILD):
        conn.execute(text(statement))


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
