"""The files of each publication exactly as published (.txt, .md, .xlsx, .geojson), in chunks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_report_file",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["published_report.id"]),
        sa.PrimaryKeyConstraint("report_id", "format", "seq"),
    )


def downgrade() -> None:
    op.drop_table("published_report_file")
