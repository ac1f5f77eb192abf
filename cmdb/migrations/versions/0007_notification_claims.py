"""notification claims: a (key, channel) row is claimed ('sending') before delivery, then 'sent'

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

``notification_sent`` gains ``state`` ('sending' | 'sent'), ``claimed_at`` and ``claimed_by``;
``sent_at`` becomes NULL while a row is only claimed. A ``kontur notify run`` inserts its claims
before delivering, so the unique (key, channel) index lets only one of two concurrent runs send
a notice (see docs/notifications.md). Rows already there were delivered: they become 'sent',
claimed when they were sent, by nobody known.

Downgrade drops the claims in flight (those notices are sent again by the next run of the old
code, which is what it would have done) and the new columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cmdb.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification_sent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=7), nullable=False, server_default="sent")
        )
        batch_op.add_column(
            sa.Column("claimed_at", cmdb.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=255), nullable=True))
    op.execute("UPDATE notification_sent SET claimed_at = sent_at")
    with op.batch_alter_table("notification_sent", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=7), server_default=None)
        batch_op.alter_column(
            "claimed_at", existing_type=cmdb.types.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.alter_column(
            "sent_at", existing_type=cmdb.types.UTCDateTime(timezone=True), nullable=True
        )
        batch_op.create_check_constraint(
            op.f("ck_notification_sent_state_valid"), "state IN ('sending', 'sent')"
        )
        batch_op.create_check_constraint(
            op.f("ck_notification_sent_sent_at_when_sent"),
            "state = 'sending' OR sent_at IS NOT NULL",
        )


def downgrade() -> None:
    op.execute("DELETE FROM notification_sent WHERE state <> 'sent'")
    with op.batch_alter_table("notification_sent", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notification_sent_sent_at_when_sent"), type_="check")
        batch_op.drop_constraint(op.f("ck_notification_sent_state_valid"), type_="check")
        batch_op.alter_column(
            "sent_at", existing_type=cmdb.types.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("state")
