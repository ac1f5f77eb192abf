"""Migrations: they build exactly the models' schema, go down and up again, and keep the data."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cmdb.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    upgrade,
)
from cmdb.models import Base, NotificationSent
from cmdb.types import UTCDateTime


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    command.downgrade(alembic_config(engine), "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert {t.name for t in Base.metadata.sorted_tables} <= set(inspect(engine).get_table_names())


def test_0007_delivered_rows_become_sent_and_claims_go_on_downgrade(engine: Engine) -> None:
    """Rows from before claims existed stay delivered; downgrading forgets claims in flight."""
    sent_at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    old_table = sa.table(
        "notification_sent",
        sa.column("key", sa.String()),
        sa.column("channel", sa.String()),
        sa.column("sent_at", UTCDateTime()),
        sa.column("detail", sa.Text()),
    )
    config = alembic_config(engine)
    command.downgrade(config, "0006")
    try:
        with engine.begin() as conn:
            conn.execute(
                old_table.insert().values(
                    key="expiry:a", channel="email", sent_at=sent_at, detail="аттестат"
                )
            )
        upgrade(engine)
        with Session(engine) as session, session.begin():
            row = session.scalars(select(NotificationSent)).one()
            assert (row.key, row.state, row.claimed_at, row.claimed_by, row.sent_at) == (
                "expiry:a",
                "sent",
                sent_at,
                None,
                sent_at,
            )
            session.add(
                NotificationSent(
                    key="expiry:b",
                    channel="email",
                    state="sending",
                    claimed_at=sent_at,
                    claimed_by="host:1:abcd",
                )
            )
        # The constraints came through the upgrade (on SQLite, a rebuilt table).
        for bad in ({"state": "sent"}, {"state": "queued", "sent_at": sent_at}):
            with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
                session.add(NotificationSent(key="x", channel="email", claimed_at=sent_at, **bad))
        with pytest.raises(IntegrityError), Session(engine) as session, session.begin():
            session.add(
                NotificationSent(
                    key="expiry:a", channel="email", state="sending", claimed_at=sent_at
                )
            )
        command.downgrade(config, "0006")
        with engine.connect() as conn:
            rows = [tuple(row) for row in conn.execute(select(old_table))]
        assert rows == [("expiry:a", "email", sent_at, "аттестат")]
        assert "state" not in {c["name"] for c in inspect(engine).get_columns("notification_sent")}
    finally:
        upgrade(engine)


def test_without_pg_trgm_the_migration_goes_on_and_the_search_scans(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """A role that may not create extensions (nor use another schema's pg_trgm) still migrates."""
    if engine.dialect.name != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL's; SQLite's indexes are FTS5 (tested in test_helpdesk)")
    import uuid

    from sqlalchemy import text

    from cmdb.db import make_engine
    from cmdb.helpdesk import search
    from tests.factories import make_world

    name = f"kontur_plain_{uuid.uuid4().hex[:8]}"
    admin = engine.url.set(query={})
    admin_engine = sa.create_engine(admin)
    with admin_engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{name}" LOGIN'))
        conn.execute(text(f'CREATE SCHEMA "{name}" AUTHORIZATION "{name}"'))
    url = admin.set(username=name, query={"options": f"-csearch_path={name}"})
    plain = make_engine(url.render_as_string(hide_password=False))
    try:
        with caplog.at_level("WARNING", logger="cmdb.migrations"):
            upgrade(plain)
        assert current_revision(plain) == head_revision()
        assert "pg_trgm indexes not created" in caplog.text
        indexes = {ix["name"] for ix in inspect(plain).get_indexes("workstation")}
        assert "ix_workstation_hostname_trgm" not in indexes
        make_world(plain)
        assert [h.code for h in search(plain, "ARM-FAP-0001", 10)] == ["FAP-0001"]
    finally:
        plain.dispose()
        with admin_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
            conn.execute(text(f'DROP ROLE "{name}"'))
        admin_engine.dispose()
