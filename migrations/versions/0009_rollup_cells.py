"""Each roll-up row carries the number of its cell, so the roll-up is summed by an integer, not by six texts.

The figures at the end of day D are the sums of the roll-up's deltas with day <= D, grouped by cell (kind,
sub-district, segment, track, status, quantity). On PostgreSQL, hashing six text columns of 5,000-odd rows was
half of that read; grouping by a cell number read from an index in (day, cell, quantity, delta) order alone (an
index-only scan), and naming the few hundred cells after, halves it. `rollup_cell` numbers the cells; `rollup_delta.cell` is left NULL by the
writers and filled by a trigger (the cells of a row never change: an upsert that meets an existing row only adds to
its delta). `recovery ledger verify` checks the numbers; `recovery ledger rebuild` writes the roll-up anew.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DIMS = "kind, subdistrict, segment, track, status, quantity"


def _cell_of(row: str) -> str:
    """SQL: the cell number of the roll-up row `row` (its cell row being made first)."""
    match = " AND ".join(f"c.{d} = {row}.{d}" for d in DIMS.split(", "))
    return f"(SELECT c.id FROM rollup_cell c WHERE {match})"


SQLITE = [
    f"""CREATE TRIGGER rollup_cell_insert AFTER INSERT ON rollup_delta WHEN NEW.cell IS NULL BEGIN
      INSERT OR IGNORE INTO rollup_cell ({DIMS}) VALUES (NEW.{DIMS.replace(", ", ", NEW.")});
      UPDATE rollup_delta SET cell = {_cell_of("NEW")} WHERE id = NEW.id;
    END""",
]

POSTGRES = [
    f"""CREATE FUNCTION recovery_rollup_cell() RETURNS trigger AS $$
    BEGIN
      NEW.cell := {_cell_of("NEW")};
      IF NEW.cell IS NULL THEN
        INSERT INTO rollup_cell ({DIMS}) VALUES (NEW.{DIMS.replace(", ", ", NEW.")}) ON CONFLICT DO NOTHING;
        NEW.cell := {_cell_of("NEW")};
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER rollup_cell_insert BEFORE INSERT ON rollup_delta FOR EACH ROW WHEN (NEW.cell IS NULL) "
    "EXECUTE FUNCTION recovery_rollup_cell()",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    serial = "serial PRIMARY KEY" if dialect == "postgresql" else "INTEGER PRIMARY KEY"
    op.execute(
        f"""CREATE TABLE rollup_cell (
          id {serial},
          kind varchar(30) NOT NULL,
          subdistrict varchar(20) NOT NULL,
          segment varchar(120) NOT NULL,
          track varchar(20) NOT NULL,
          status varchar(30) NOT NULL,
          quantity varchar(30) NOT NULL,
          CONSTRAINT uq_rollup_cell_dims UNIQUE ({DIMS})
        )"""
    )
    op.execute("ALTER TABLE rollup_delta ADD COLUMN cell integer")
    op.execute(f"INSERT INTO rollup_cell ({DIMS}) SELECT DISTINCT {DIMS} FROM rollup_delta")
    op.execute(f"UPDATE rollup_delta SET cell = {_cell_of('rollup_delta')}")
    op.execute("CREATE INDEX ix_rollup_delta_day_cell ON rollup_delta (day, cell, quantity, delta)")
    op.execute("DROP INDEX IF EXISTS ix_rollup_delta_cell")
    # the new index starts with the day: the day's own index only drew PostgreSQL's planner away from it
    op.execute("DROP INDEX IF EXISTS ix_rollup_delta_day")
    for statement in POSTGRES if dialect == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS rollup_cell_insert ON rollup_delta")
        op.execute("DROP FUNCTION IF EXISTS recovery_rollup_cell()")
    else:
        op.execute("DROP TRIGGER IF EXISTS rollup_cell_insert")
    op.execute("DROP INDEX IF EXISTS ix_rollup_delta_day_cell")
    op.execute("CREATE INDEX ix_rollup_delta_day ON rollup_delta (day)")
    op.execute(f"CREATE INDEX ix_rollup_delta_cell ON rollup_delta ({DIMS}, day, delta)")
    with op.batch_alter_table("rollup_delta") as batch_op:
        batch_op.drop_column("cell")
    op.execute("DROP TABLE IF EXISTS rollup_cell")
