"""The administrators' audit log (append-only, like the ledger) and the teams' registration and retirement.

`audit_entry` holds one row per administrative action: who (the user, or the command line), what, on which
target, the state before and after (JSON), when and from which address. Triggers refuse UPDATE and DELETE on both
databases, as they do for the ledger's `event`.

`team.registered_at` and `team.retired_at` say from when to when a team counts in the rescue-force figures; both
stay empty for the teams registered before this version (they count on every day, as before), so no figure
changes with the upgrade.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import recovery.db.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MESSAGE = "the audit log is append-only"


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", recovery.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("before", recovery.db.types.JSONType, nullable=True),
        sa.Column("after", recovery.db.types.JSONType, nullable=True),
        sa.Column("remote_addr", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_entry_at", "audit_entry", ["at"], unique=False)
    # plain ADD COLUMN (not a batch copy): nothing else of `team` changes
    op.add_column(
        "team", sa.Column("registered_at", recovery.db.types.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "team", sa.Column("retired_at", recovery.db.types.UTCDateTime(timezone=True), nullable=True)
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION recovery_audit_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION recovery_audit_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_entry_append_only_{verb.lower()} BEFORE {verb} ON audit_entry "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS recovery_audit_append_only()")
    with op.batch_alter_table("team") as batch_op:
        batch_op.drop_column("retired_at")
        batch_op.drop_column("registered_at")
    op.drop_index("ix_audit_entry_at", "audit_entry")
    op.drop_table("audit_entry")
