"""Test fixtures: a real, migrated database per test, on SQLite or PostgreSQL.

``KONTUR_TEST_DATABASE_URL`` selects PostgreSQL (``make test`` runs the whole suite a second time
with it when the server at 127.0.0.1:5432 answers). Each pytest session migrates its own schema
(SQLite: a template file; PostgreSQL: a schema named after the process) with the real Alembic
migrations; each test gets a clean copy (SQLite: copied file; PostgreSQL: truncated tables).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text

from cmdb.db import make_engine
from cmdb.migrate import upgrade
from cmdb.models import Base

PG_URL = os.environ.get("KONTUR_TEST_DATABASE_URL")

#: API fixtures (app, users per role, tokens, client) for tests/api and tests/e2e.
pytest_plugins = ["tests.api_fixtures"]


def _pg_url_with_schema(schema: str) -> str:
    assert PG_URL is not None
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def backend() -> str:
    """'postgresql' or 'sqlite': which database the suite runs against."""
    return "postgresql" if PG_URL else "sqlite"


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per session; yields its URL (or the template file's path)."""
    if PG_URL:
        schema = f"kontur_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _pg_url_with_schema(schema)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        try:
            yield url
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    else:
        template = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        yield str(template)


@pytest.fixture
def db_url(_migrated: str, tmp_path: Path) -> Iterator[str]:
    """A clean, migrated database for one test."""
    if PG_URL:
        engine = make_engine(_migrated)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        yield _migrated
    else:
        path = tmp_path / "kontur.db"
        shutil.copyfile(_migrated, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test's clean database."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def blank_db_url(tmp_path: Path, _migrated: str) -> Iterator[str]:
    """A database that exists but was never migrated (SQLite file or empty PostgreSQL schema)."""
    if PG_URL:
        schema = f"kontur_blank_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield _pg_url_with_schema(schema)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'blank.db'}"


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Environment for running ``kontur`` against the test database, in Russian, as 'tester'."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("KONTUR_") and name != "KONTUR_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("KONTUR_DATABASE_URL", db_url)
    monkeypatch.setenv("KONTUR_ACTOR", "tester")
    return db_url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In the PostgreSQL pass, skip tests that never touch the database backend (said why)."""
    if not PG_URL:
        return
    skip = pytest.mark.skip(reason="backend-neutral: ran in the SQLite pass of `make test`")
    for item in items:
        if item.get_closest_marker("backend_neutral"):
            item.add_marker(skip)
