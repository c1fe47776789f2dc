"""`app_user.must_change_password`: a user whose role was raised to one that needs a longer password
(`recovery.auth.passwords.MIN_LENGTH`: a field user made commander) must choose a new one before a signed-in
browser may open any other page; a new password clears it.

Plain ADD COLUMN with a default (no batch copy of `app_user`, which other tables refer to): every user already
there starts without the flag. A user raised before this version keeps the password they had; an admin who wants
them to choose a new one resets it (`recovery users reset-password`).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "app_user",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # plain DROP COLUMN on both (SQLite has it since 3.35): a batch copy would drop `app_user`, which the
    # sessions, tokens and audit rows refer to
    op.drop_column("app_user", "must_change_password")
