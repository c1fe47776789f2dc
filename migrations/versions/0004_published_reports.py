"""Published daily reports: frozen figures with their record-time cutoff and SHA-256 content hash.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import recovery.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cutoff", recovery.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", recovery.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "version", name="uq_published_report_day_version"),
    )
    with op.batch_alter_table("published_report", schema=None) as batch_op:
        batch_op.create_index("ix_published_report_day", ["day"], unique=False)
        batch_op.create_index("ix_published_report_published_at", ["published_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("published_report", schema=None) as batch_op:
        batch_op.drop_index("ix_published_report_published_at")
        batch_op.drop_index("ix_published_report_day")
    op.drop_table("published_report")
