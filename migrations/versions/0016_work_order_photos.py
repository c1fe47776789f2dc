"""Photos of work orders that concern no site: `photo.work_item_id`, and `photo.site_id` may be empty.

A 群众反映 or 会议交办 order often has no site on the map, yet its steps (办结, 核查) want photos. A photo now
belongs to a site or to a work order. The table is copied on SQLite (batch mode) to drop the NOT NULL; the photo
table has no triggers, so nothing is lost by the copy.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    op.execute("DELETE FROM photo WHERE site_id IS NULL")
    with op.batch_alter_table("photo") as batch_op:
        batch_op.drop_index("ix_photo_work_item_id")
        batch_op.drop_constraint("fk_photo_work_item", type_="foreignkey")
        batch_op.drop_column("work_item_id")
        batch_op.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
