"""status ledger, failover events, collector runs, agent tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmdb.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The audit journal also records refused attempts (action 'deny').
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_entry_action_valid"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_audit_entry_action_valid"),
            "action IN ('create', 'update', 'delete', 'import', 'deny')",
        )

    op.create_table(
        "agent_heartbeat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_name", sa.String(length=64), nullable=False),
        sa.Column("received_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_heartbeat")),
        sa.UniqueConstraint("token_name", name=op.f("uq_agent_heartbeat_token_name")),
    )
    op.create_table(
        "agent_token",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("object_kind", sa.String(length=11), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("last_used_at", cmdb.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "object_kind IN ('site', 'device', 'channel', 'vipnet_node', 'workstation')",
            name=op.f("ck_agent_token_object_kind_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_token")),
        sa.UniqueConstraint("name", name=op.f("uq_agent_token_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_agent_token_token_sha256")),
    )
    op.create_table(
        "collector_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vantage", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_cycle_at", cmdb.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", cmdb.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collector_run")),
    )
    with op.batch_alter_table("collector_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collector_run_vantage"), ["vantage"], unique=False)

    op.create_table(
        "failover_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_key", sa.String(length=64), nullable=False),
        sa.Column("redundancy_group", sa.String(length=64), nullable=True),
        sa.Column("vantage", sa.String(length=64), nullable=False),
        sa.Column("at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=17), nullable=False),
        sa.Column("active_channel", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.CheckConstraint(
            "kind IN ('on_backup', 'on_primary', 'dc_reserve_active', 'dc_primary_active')",
            name=op.f("ck_failover_event_kind_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failover_event")),
    )
    with op.batch_alter_table("failover_event", schema=None) as batch_op:
        batch_op.create_index("ix_failover_event_site_at", ["site_key", "at"], unique=False)

    op.create_table(
        "object_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_kind", sa.String(length=11), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("vantage", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("since", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("candidate", sa.String(length=16), nullable=True),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("streak_started_at", cmdb.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", cmdb.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=True),
        sa.CheckConstraint(
            "object_kind IN ('site', 'device', 'channel', 'vipnet_node', 'workstation')",
            name=op.f("ck_object_state_object_kind_valid"),
        ),
        sa.CheckConstraint(
            "state IN ('up', 'down', 'degraded', 'unknown')",
            name=op.f("ck_object_state_state_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_object_state")),
    )
    with op.batch_alter_table("object_state", schema=None) as batch_op:
        batch_op.create_index(
            "uq_object_state_object", ["object_kind", "object_key", "vantage"], unique=True
        )

    op.create_table(
        "status_transition",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("object_kind", sa.String(length=11), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("vantage", sa.String(length=64), nullable=False),
        sa.Column("at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("previous", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "object_kind IN ('site', 'device', 'channel', 'vipnet_node', 'workstation')",
            name=op.f("ck_status_transition_object_kind_valid"),
        ),
        sa.CheckConstraint(
            "state IN ('up', 'down', 'degraded', 'unknown')",
            name=op.f("ck_status_transition_state_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_transition")),
    )
    with op.batch_alter_table("status_transition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_status_transition_at"), ["at"], unique=False)
        batch_op.create_index(
            "uq_status_transition_object_at",
            ["object_kind", "object_key", "vantage", "at"],
            unique=True,
        )


def downgrade() -> None:
    # Refused attempts cannot be represented before this revision.
    op.execute("DELETE FROM audit_entry WHERE action = 'deny'")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_entry_action_valid"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_audit_entry_action_valid"),
            "action IN ('create', 'update', 'delete', 'import')",
        )

    with op.batch_alter_table("status_transition", schema=None) as batch_op:
        batch_op.drop_index("uq_status_transition_object_at")
        batch_op.drop_index(batch_op.f("ix_status_transition_at"))

    op.drop_table("status_transition")
    with op.batch_alter_table("object_state", schema=None) as batch_op:
        batch_op.drop_index("uq_object_state_object")

    op.drop_table("object_state")
    with op.batch_alter_table("failover_event", schema=None) as batch_op:
        batch_op.drop_index("ix_failover_event_site_at")

    op.drop_table("failover_event")
    with op.batch_alter_table("collector_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collector_run_vantage"))

    op.drop_table("collector_run")
    op.drop_table("agent_token")
    op.drop_table("agent_heartbeat")
