"""Alembic migrations driven from code: ``kontur db upgrade`` and the schema-version guard."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import NameFilterParentNames, NameFilterType
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from cmdb.errors import SchemaNotCurrent

#: Tables in the database that are not models: SQLite's FTS5 search indexes (migration 0008) and
#: the shadow tables FTS5 keeps for them.
UNMODELLED_PREFIXES = ("workstation_hostname_fts", "site_name_fts")
#: Indexes that are not in the models: PostgreSQL's pg_trgm indexes on lower(column) (0008).
UNMODELLED_INDEXES = frozenset(
    {
        "ix_workstation_hostname_trgm",
        "ix_site_code_trgm",
        "ix_site_name_trgm",
        "ix_device_name_trgm",
    }
)


def include_name(name: str | None, type_: NameFilterType, _parents: NameFilterParentNames) -> bool:
    """Alembic's filter for comparing the models with the schema: skip unmodelled objects."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(UNMODELLED_PREFIXES)
    return not (type_ == "index" and name in UNMODELLED_INDEXES)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations, bound to ``engine``."""
    config = Config()
    config.set_main_option("script_location", "cmdb:migrations")
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration revision shipped with this code."""
    script = ScriptDirectory.from_config(alembic_config_for_scripts())
    head = script.get_current_head()
    assert head is not None, "no migrations packaged"
    return head


def alembic_config_for_scripts() -> Config:
    """A config good enough to read the migration scripts without a database."""
    config = Config()
    config.set_main_option("script_location", "cmdb:migrations")
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate the database to ``revision``; returns (before, after) revisions."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), revision)
    after = current_revision(engine)
    assert after is not None
    return before, after


def ensure_current(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the database is at the head revision."""
    head = head_revision()
    current = current_revision(engine)
    if current != head:
        raise SchemaNotCurrent(current, head)
