"""Photos of work orders that concern no site (`photo.work_item_id`; `photo.site_id` may be empty), and the
orders' attachments (`attachment`: PDF and Office documents, `recovery/attachments.py`).

A 群众反映 or 会议交办 order often has no site on the map, yet its steps (办结, 核查) want photos. A photo now
belongs to a site or to a work order. The table is copied on SQLite (batch mode) to drop the NOT NULL; the photo
table has no triggers, so nothing is lost by the copy.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import recovery.db.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("photo") as batch_op:
        batch_op.alter_column("site_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("work_item_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_photo_work_item", "work_item", ["work_item_id"], ["id"])
        batch_op.create_index("ix_photo_work_item_id", ["work_item_id"], unique=False)
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", recovery.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.ForeignKeyConstraint(["work_item_id"], ["work_item.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachment_work_item_id", "attachment", ["work_item_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attachment_work_item_id", "attachment")
    op.drop_table("attachment")
    op.execute("DELETE FROM photo WHERE site_id IS NULL")
    with op.batch_alter_table("photo") as batch_op:
        batch_op.drop_index("ix_photo_work_item_id")
        batch_op.drop_constraint("fk_photo_work_item", type_="foreignkey")
        batch_op.drop_column("work_item_id")
        batch_op.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
