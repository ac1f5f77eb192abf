"""calendars: control-point evidence, notifications sent

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmdb.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("channel", sa.String(length=7), nullable=False),
        sa.Column("sent_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_notification_sent_channel_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_sent")),
    )
    with op.batch_alter_table("notification_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_sent_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index("uq_notification_sent_key_channel", ["key", "channel"], unique=True)

    op.create_table(
        "control_point_evidence",
        sa.Column("control_point_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("attached_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attached_by", sa.String(length=128), nullable=False),
        sa.Column("document", sa.String(length=500), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=9), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cmdb.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('user', 'generated')", name=op.f("ck_control_point_evidence_source_valid")
        ),
        sa.ForeignKeyConstraint(
            ["control_point_id"],
            ["control_point.id"],
            name=op.f("fk_control_point_evidence_control_point_id_control_point"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_point_evidence")),
    )
    with op.batch_alter_table("control_point_evidence", schema=None) as batch_op:
        batch_op.create_index(
            "uq_control_point_evidence_occurrence",
            ["control_point_id", "period_start"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("control_point_evidence", schema=None) as batch_op:
        batch_op.drop_index("uq_control_point_evidence_occurrence")

    op.drop_table("control_point_evidence")
    with op.batch_alter_table("notification_sent", schema=None) as batch_op:
        batch_op.drop_index("uq_notification_sent_key_channel")
        batch_op.drop_index(batch_op.f("ix_notification_sent_sent_at"))

    op.drop_table("notification_sent")
