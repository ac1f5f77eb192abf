"""Engine and session factories, and the guard that refuses an un-migrated database."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cmdb.errors import DatabaseUnreachable
from cmdb.settings import CmdbSettings

logger = logging.getLogger(__name__)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # SQLite's own lower() folds ASCII only; searches must fold Cyrillic as PostgreSQL does.
    dbapi_conn.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets foreign keys on, WAL and its parent folder made."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def open_engine(settings: CmdbSettings, *, require_current: bool = True) -> Engine:
    """Open the configured database; by default refuse one whose schema is not at head."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseUnreachable(str(exc.orig) if exc.orig else str(exc)) from exc
    if require_current:
        from cmdb.migrate import ensure_current

        try:
            ensure_current(engine)
        except Exception:
            engine.dispose()
            raise
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed if the block succeeds, rolled back otherwise."""
    with session_factory(engine)() as session, session.begin():
        yield session
