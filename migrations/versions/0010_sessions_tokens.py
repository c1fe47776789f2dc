"""Signed-in sessions in the database (sign-out ends them), API tokens that expire, sign-in throttles by user
name and address.

`user_session` holds one row per signed-in browser, found by the SHA-256 of the key its cookie carries; a
session holds only while its row is unrevoked and unexpired, so sign-out, a password change and disabling the
user end it on the server. `api_token.expires_at` is filled for the tokens already issued with the day of this
upgrade plus 90 days (the default of RECOVERY_TOKEN_DAYS), so that no client is cut off by the upgrade itself.
`login_throttle` keeps the consecutive failures of one user name from one address (recovery/auth/throttle.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

import recovery.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LEGACY_TOKEN_DAYS = 90


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("remote_addr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", recovery.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", recovery.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", recovery.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"], unique=False)
    op.create_table(
        "login_throttle",
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("remote_addr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", recovery.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", recovery.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", "remote_addr"),
    )
    op.add_column("api_token", sa.Column("expires_at", recovery.db.types.UTCDateTime(timezone=True)))
    api_token = sa.table("api_token", sa.column("expires_at", recovery.db.types.UTCDateTime(timezone=True)))
    op.execute(api_token.update().values(expires_at=datetime.now(UTC) + timedelta(days=LEGACY_TOKEN_DAYS)))
    # a copy of the small token table on SQLite (it has no triggers to lose), an ALTER on PostgreSQL
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=recovery.db.types.UTCDateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.drop_column("expires_at")
    op.drop_table("login_throttle")
    op.drop_index("ix_user_session_user_id", "user_session")
    op.drop_table("user_session")
