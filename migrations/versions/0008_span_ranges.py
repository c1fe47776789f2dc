"""PostgreSQL: the span of each status event stored as a range column, so the stabbing query is an index-only scan.

Migration 0005 indexed the expression `tstzrange(valid_from, valid_to, '(]')`. PostgreSQL cannot answer a query
from an expression index alone (it would need the columns under the expression), so "the spans that contain T"
became a bitmap scan of the table, or a sequential scan evaluating the expression on every row. Here the range is
a stored generated column `span` with a GiST index on it that includes the cell and the site: counting by cell
reads the index only. A partial index of the spans of the kinds kept per track (negative cells: a community's
utilities) serves their per-site counts without walking the others. SQLite (an R*Tree since 0005) is unchanged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE status_span ADD COLUMN span tstzrange "
        "GENERATED ALWAYS AS (tstzrange(valid_from, valid_to, '(]')) STORED"
    )
    op.execute("CREATE INDEX ix_status_span_span ON status_span USING gist (span) INCLUDE (cell, site_id)")
    op.execute(
        "CREATE INDEX ix_status_span_tracked ON status_span USING gist (span) INCLUDE (cell, site_id) "
        "WHERE cell < 0"
    )
    op.execute("DROP INDEX IF EXISTS ix_status_span_valid")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_status_span_valid ON status_span USING gist (tstzrange(valid_from, valid_to, '(]')) "
        "INCLUDE (cell, site_id, level)"
    )
    op.execute("DROP INDEX IF EXISTS ix_status_span_tracked")
    op.execute("DROP INDEX IF EXISTS ix_status_span_span")
    op.execute("ALTER TABLE status_span DROP COLUMN span")
