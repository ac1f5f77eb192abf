"""search indexes: trigram indexes of AWP hostnames, site codes and names (SQLite FTS5, pg_trgm)

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

On PostgreSQL the same searches are ``lower(column) LIKE '%needle%'``, which GIN indexes with
``pg_trgm``'s ``gin_trgm_ops`` answer (AWP hostnames: an 8.5 ms scan became 0.6 ms): this
migration creates the extension if it is missing and it may (a trusted extension since
PostgreSQL 13: the database owner may), and the indexes ``ix_*_trgm`` (left out of the
models-to-schema comparison too). Where the extension cannot be created it says so in the log
and creates no index; the search then scans, with the same results.

On SQLite builds without FTS5 or its trigram tokenizer this migration does nothing and the search
scans as before (see docs/web-ui.md).

Later migrations that rebuild ``workstation`` or ``site`` with a batch operation on SQLite drop
their triggers: they must call :func:`create` again.
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, OperationalError

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


#: PostgreSQL: (index, table, column) of the trigram indexes, on lower(column).
PG_INDEXES = (
    ("ix_workstation_hostname_trgm", "workstation", "hostname"),
    ("ix_site_code_trgm", "site", "code"),
    ("ix_site_name_trgm", "site", "name"),
    ("ix_device_name_trgm", "device", "name"),
)

logger = logging.getLogger("cmdb.migrations")


def _trgm_schema(conn: Connection) -> str | None:
    found: str | None = conn.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    return found


def create_pg(conn: Connection) -> bool:
    """Create pg_trgm if missing and allowed, then the indexes, all or none; False if not."""
    try:
        with conn.begin_nested():
            schema = _trgm_schema(conn)
            if schema is None:
                conn.execute(text("CREATE EXTENSION pg_trgm"))
                schema = _trgm_schema(conn)
            quoted = conn.dialect.identifier_preparer.quote_schema(str(schema))
            for index, table, column in PG_INDEXES:
                conn.execute(
                    text(
                        f"CREATE INDEX {index} ON {table} "
                        f"USING gin (lower({column}) {quoted}.gin_trgm_ops)"
                    )
                )
    except DBAPIError as exc:  # no privilege, no contrib files, no access to its schema
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        logger.warning(
            "pg_trgm indexes not created (%s): the helpdesk search will scan; a superuser may "
            "CREATE EXTENSION pg_trgm and create the indexes listed in docs/web-ui.md",
            reason,
        )
        return False
    return True


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
    if conn.dialect.name == "postgresql":
        create_pg(conn)
    elif conn.dialect.name == "sqlite" and fts5_available(conn):
        create(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        # The extension stays: other objects in the database may use it, and it holds no data.
        for index, _table, _column in PG_INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
    elif conn.dialect.name == "sqlite":
        for statement in _DROP:
            conn.execute(text(statement))
