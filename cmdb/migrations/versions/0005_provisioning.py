"""provisioning runs, host/task events, gate overrides (issue 6)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmdb.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_override",
        sa.Column("target_kind", sa.String(length=11), nullable=False),
        sa.Column("target_key", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("valid_until", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("revoked_at", cmdb.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=128), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "target_kind IN ('site', 'device', 'workstation', 'vipnet_node', 'attestation')",
            name=op.f("ck_gate_override_target_kind_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_override")),
    )
    op.create_index(
        "ix_gate_override_target", "gate_override", ["target_kind", "target_key"], unique=False
    )
    op.create_table(
        "provision_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("playbook", sa.String(length=1000), nullable=False),
        sa.Column("limit_pattern", sa.String(length=4000), nullable=True),
        sa.Column("tags", sa.String(length=1000), nullable=True),
        sa.Column("check_mode", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("started_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", cmdb.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rc", sa.Integer(), nullable=True),
        sa.Column("hosts", sa.Integer(), nullable=False),
        sa.Column("ok_count", sa.Integer(), nullable=False),
        sa.Column("changed_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("unreachable_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("refused", sa.JSON(), nullable=False),
        sa.Column("overridden", sa.JSON(), nullable=False),
        sa.Column("recap", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'successful', 'failed', 'refused', 'error')",
            name=op.f("ck_provision_run_status_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provision_run")),
    )
    op.create_index(
        op.f("ix_provision_run_started_at"), "provision_run", ["started_at"], unique=False
    )
    op.create_table(
        "provision_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("object_kind", sa.String(length=32), nullable=True),
        sa.Column("object_key", sa.String(length=255), nullable=True),
        sa.Column("play", sa.String(length=500), nullable=True),
        sa.Column("task", sa.String(length=500), nullable=True),
        sa.Column("action", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=11), nullable=False),
        sa.Column("diff", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('ok', 'changed', 'failed', 'unreachable', 'skipped')",
            name=op.f("ck_provision_event_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["provision_run.id"],
            name=op.f("fk_provision_event_run_id_provision_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provision_event")),
    )
    op.create_index(
        "ix_provision_event_object", "provision_event", ["object_kind", "object_key"], unique=False
    )
    op.create_index(
        "ix_provision_event_run_seq", "provision_event", ["run_id", "seq"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_provision_event_run_seq", table_name="provision_event")
    op.drop_index("ix_provision_event_object", table_name="provision_event")
    op.drop_table("provision_event")
    op.drop_index(op.f("ix_provision_run_started_at"), table_name="provision_run")
    op.drop_table("provision_run")
    op.drop_index("ix_gate_override_target", table_name="gate_override")
    op.drop_table("gate_override")
