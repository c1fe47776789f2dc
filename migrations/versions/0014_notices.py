"""Notices of work-order steps: in-app notices per user, the units' outbound webhooks, the outbox that the step's
transaction writes and `recovery worker` sends, and the log of every delivery attempt.

`notice` is unique per (user, event) and `outbox_message` per (webhook, event): a step tells each user and each
webhook once. Nothing existing changes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import recovery.db.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_UTC = recovery.db.types.UTCDateTime(timezone=True)
_JSON = recovery.db.types.JSONType
_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("work_item_id", sa.Integer(), nullable=False),
        sa.Column("action", _TEXT(length=30), nullable=False),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("read_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["work_item_id"], ["work_item.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "event_id", name="uq_notice_user_event"),
    )
    op.create_index("ix_notice_user_id", "notice", ["user_id", "id"], unique=False)
    op.create_index("ix_notice_user_unread", "notice", ["user_id", "read_at"], unique=False)
    op.create_index("ix_notice_work_item_id", "notice", ["work_item_id"], unique=False)
    op.create_table(
        "webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit", _TEXT(length=40), nullable=False),
        sa.Column("kind", _TEXT(length=20), nullable=False),
        sa.Column("name", _TEXT(length=120), nullable=False),
        sa.Column("url", _TEXT(length=1000), nullable=False),
        sa.Column("secret", _TEXT(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_unit", "webhook", ["unit"], unique=False)
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("status", _TEXT(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=False),
        sa.Column("lease_owner", _TEXT(length=80), nullable=True),
        sa.Column("lease_expires_at", _UTC, nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("sent_at", _UTC, nullable=True),
        sa.Column("last_error", _TEXT(length=500), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhook.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_outbox_webhook_event"),
    )
    op.create_index("ix_outbox_due", "outbox_message", ["status", "next_attempt_at"], unique=False)
    op.create_index("ix_outbox_message_webhook_id", "outbox_message", ["webhook_id"], unique=False)
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", _TEXT(length=500), nullable=False),
        sa.Column("ms", sa.Integer(), nullable=False),
        sa.Column("worker", _TEXT(length=80), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["outbox_message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delivery_message_id", "delivery", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_delivery_message_id", "delivery")
    op.drop_table("delivery")
    op.drop_index("ix_outbox_message_webhook_id", "outbox_message")
    op.drop_index("ix_outbox_due", "outbox_message")
    op.drop_table("outbox_message")
    op.drop_index("ix_webhook_unit", "webhook")
    op.drop_table("webhook")
    op.drop_index("ix_notice_work_item_id", "notice")
    op.drop_index("ix_notice_user_unread", "notice")
    op.drop_index("ix_notice_user_id", "notice")
    op.drop_table("notice")
