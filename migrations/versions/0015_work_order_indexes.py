"""Indexes for the work orders' read paths at 100,000 orders: a unit's inbox and the 督查 board (bench/workorders.py).

- `ix_work_item_unit_status` grows the resolution time: the board's counts per (unit, status) and on-time rate
  are read from it alone;
- `ix_work_item_unit_id`: a unit's latest finished orders, newest first, without a sort;
- `ix_work_item_board`: the open orders by status and unit with every deadline and step time, so that the
  board's 红牌/黄牌 counts and its first orders per unit are read from it alone;
- `ix_work_item_co_units`: the few orders that have co-units, with them (the inbox reads them apart from the lead
  unit's, and tests the co-units in the index).

Plain CREATE INDEX only, as in 0003.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

HAS_CO_UNITS = sa.text("co_units <> '[]'")
BOARD = [
    "status",
    "responsible_unit",
    "resolve_due",
    "acknowledged_at",
    "acknowledge_due",
    "fed_back_at",
    "feedback_due",
    "resolved_at",
]


def upgrade() -> None:
    op.drop_index("ix_work_item_unit_status", "work_item")
    op.create_index(
        "ix_work_item_unit_status", "work_item", ["responsible_unit", "status", "resolve_due", "resolved_at"]
    )
    op.create_index("ix_work_item_unit_id", "work_item", ["responsible_unit", "id"])
    op.create_index("ix_work_item_board", "work_item", BOARD)
    op.create_index(
        "ix_work_item_co_units",
        "work_item",
        ["status", "resolve_due", "id", "responsible_unit", "co_units"],
        sqlite_where=HAS_CO_UNITS,
        postgresql_where=HAS_CO_UNITS,
    )


def downgrade() -> None:
    op.drop_index("ix_work_item_co_units", "work_item")
    op.drop_index("ix_work_item_board", "work_item")
    op.drop_index("ix_work_item_unit_id", "work_item")
    op.drop_index("ix_work_item_unit_status", "work_item")
    op.create_index("ix_work_item_unit_status", "work_item", ["responsible_unit", "status", "resolve_due"])
