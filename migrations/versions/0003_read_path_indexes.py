"""Indexes for the read paths: the latest status event per (site, track), and the roll-up in cell order.

Plain CREATE INDEX only: on SQLite a batch copy of `event` would drop its append-only triggers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUS_EVENTS = sa.text("action IN ('report', 'transition', 'reopen') AND flag IS NULL")


def upgrade() -> None:
    # covering and partial: "latest status event before T" is read from this index alone
    op.create_index(
        "ix_event_latest",
        "event",
        ["site_id", "track", "valid_at", "id", "to_status", "level"],
        sqlite_where=STATUS_EVENTS,
        postgresql_where=STATUS_EVENTS,
    )
    # in GROUP BY order, with the summed value: the roll-up is read without a sort
    op.create_index(
        "ix_rollup_delta_cell",
        "rollup_delta",
        ["kind", "subdistrict", "segment", "track", "status", "quantity", "day", "delta"],
    )


def downgrade() -> None:
    op.drop_index("ix_rollup_delta_cell", "rollup_delta")
    op.drop_index("ix_event_latest", "event")
