"""Work orders (督查交办) run their whole loop: responsible units with their leaders and contacts, users of role
`unit`, work orders linked to any number of sites, with co-units, milestones, the acknowledge and verify steps and
the weekly reviews (周观摩) whose problems they come from.

New columns of `work_item` stay empty for the items made before this version, except `acknowledge_due`, which the
fold fills on the next `recovery ledger rebuild` (the items already open keep their feedback and resolve
deadlines); every item's one site, if it has one, is linked in `work_item_site`. No figure changes with the
upgrade.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import recovery.db.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_UTC = recovery.db.types.UTCDateTime(timezone=True)
_JSON = recovery.db.types.JSONType
_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("held_on", _TEXT(length=10), nullable=False),
        sa.Column("title", _TEXT(length=300), nullable=False),
        sa.Column("site_ids", _JSON, nullable=False),
        sa.Column("participants", _JSON, nullable=False),
        sa.Column("note", _TEXT(length=4000), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_review_held_on", "review", ["held_on"], unique=False)
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _TEXT(length=40), nullable=False),
        sa.Column("leader", _TEXT(length=120), nullable=False),
        sa.Column("contacts", _JSON, nullable=False),
        sa.Column("note", _TEXT(length=2000), nullable=False),
        sa.Column("updated_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "work_item_site",
        sa.Column("work_item_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.ForeignKeyConstraint(["work_item_id"], ["work_item.id"]),
        sa.PrimaryKeyConstraint("work_item_id", "site_id"),
    )
    op.create_index("ix_work_item_site_site_id", "work_item_site", ["site_id"], unique=False)
    with op.batch_alter_table("work_item") as batch_op:
        batch_op.add_column(sa.Column("description", _TEXT(length=4000), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("co_units", _JSON, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("milestones", _JSON, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("review_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("acknowledge_due", _UTC, nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", _UTC, nullable=True))
        batch_op.add_column(sa.Column("verified_at", _UTC, nullable=True))
        batch_op.add_column(sa.Column("extension_until", _UTC, nullable=True))
        batch_op.create_foreign_key("fk_work_item_review", "review", ["review_id"], ["id"])
        batch_op.create_index("ix_work_item_review_id", ["review_id"], unique=False)
        batch_op.create_index("ix_work_item_unit_status", ["responsible_unit", "status", "resolve_due"])
        batch_op.create_index("ix_work_item_status_due", ["status", "resolve_due"])
    with op.batch_alter_table("work_item") as batch_op:
        batch_op.alter_column("description", server_default=None)
        batch_op.alter_column("co_units", server_default=None)
        batch_op.alter_column("milestones", server_default=None)
    op.add_column("app_user", sa.Column("unit", _TEXT(length=40), nullable=True))
    op.execute(
        "INSERT INTO work_item_site (work_item_id, site_id) SELECT id, site_id FROM work_item "
        "WHERE site_id IS NOT NULL"
    )


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of app_user would trip the keys that point at it
    op.drop_column("app_user", "unit")
    with op.batch_alter_table("work_item") as batch_op:
        batch_op.drop_index("ix_work_item_status_due")
        batch_op.drop_index("ix_work_item_unit_status")
        batch_op.drop_index("ix_work_item_review_id")
        batch_op.drop_constraint("fk_work_item_review", type_="foreignkey")
        for column in (
            "extension_until",
            "verified_at",
            "acknowledged_at",
            "acknowledge_due",
            "created_by",
            "review_id",
            "milestones",
            "co_units",
            "description",
        ):
            batch_op.drop_column(column)
    op.drop_index("ix_work_item_site_site_id", "work_item_site")
    op.drop_table("work_item_site")
    op.drop_table("unit")
    op.drop_index("ix_review_held_on", "review")
    op.drop_table("review")
