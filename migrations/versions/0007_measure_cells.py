"""Each flow measure's cell (kind, sub-district, segment) kept on the measure, so the flows are summed without a join.

The daily summary sums every flow measure (m³ of silt, tonnes of garbage) recorded before T by the kind,
sub-district and segment of its site. Joining tens of thousands of measure rows to their sites was the largest part
of the summary from the ledger; with the site's cell number on the row and an index in (cell, key, valid_at, value, recorded_at)
order the sum is read from that index alone, already in group order.

`measure_cell` numbers the (kind, sub-district, segment) triples; `event_measure.cell` holds the number of its
site's triple. Triggers keep it on every insert path (the API, the importer, the bulk loader: they leave it NULL
and the trigger fills it) and when a site's kind, sub-district or segment changes; `recovery ledger rebuild`
rewrites it and `recovery ledger verify` checks it (recovery.ledger.measures).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _cell_of(site_id: str) -> str:
    """SQL: the cell number of the site `site_id` (its cell row being made first)."""
    return (
        "(SELECT c.id FROM site s JOIN measure_cell c ON c.kind = s.kind "
        f"AND c.subdistrict = coalesce(s.subdistrict, '') AND c.segment = s.segment WHERE s.id = {site_id})"
    )


def _new_cell(site_filter: str) -> str:
    return (
        "INSERT {verb} INTO measure_cell (kind, subdistrict, segment) "
        f"SELECT kind, coalesce(subdistrict, ''), segment FROM site WHERE {site_filter} {{conflict}}"
    )


SQLITE = [
    f"""CREATE TRIGGER measure_cell_insert AFTER INSERT ON event_measure WHEN NEW.cell IS NULL BEGIN
      {_new_cell("id = NEW.site_id").format(verb="OR IGNORE", conflict="")};
      UPDATE event_measure SET cell = {_cell_of("NEW.site_id")} WHERE event_id = NEW.event_id AND key = NEW.key;
    END""",
    f"""CREATE TRIGGER measure_cell_site AFTER UPDATE OF kind, subdistrict, segment ON site BEGIN
      {_new_cell("id = NEW.id").format(verb="OR IGNORE", conflict="")};
      UPDATE event_measure SET cell = {_cell_of("NEW.id")} WHERE site_id = NEW.id;
    END""",
]

POSTGRES = [
    f"""CREATE FUNCTION recovery_measure_cell() RETURNS trigger AS $$
    BEGIN
      {_new_cell("id = NEW.site_id").format(verb="", conflict="ON CONFLICT DO NOTHING")};
      NEW.cell := {_cell_of("NEW.site_id")};
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER measure_cell_insert BEFORE INSERT ON event_measure FOR EACH ROW WHEN (NEW.cell IS NULL) "
    "EXECUTE FUNCTION recovery_measure_cell()",
    f"""CREATE FUNCTION recovery_measure_cell_site() RETURNS trigger AS $$
    BEGIN
      {_new_cell("id = NEW.id").format(verb="", conflict="ON CONFLICT DO NOTHING")};
      UPDATE event_measure SET cell = {_cell_of("NEW.id")} WHERE site_id = NEW.id;
      RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER measure_cell_site AFTER UPDATE OF kind, subdistrict, segment ON site FOR EACH ROW "
    "WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.subdistrict IS DISTINCT FROM NEW.subdistrict "
    "OR OLD.segment IS DISTINCT FROM NEW.segment) EXECUTE FUNCTION recovery_measure_cell_site()",
]

#: the cells and cell numbers of the measures already stored (also what `recovery ledger rebuild` does)
FILL = [
    _new_cell("id IN (SELECT site_id FROM event_measure)").replace("SELECT kind", "SELECT DISTINCT kind"),
    f"UPDATE event_measure SET cell = {_cell_of('event_measure.site_id')}",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    serial = "serial PRIMARY KEY" if dialect == "postgresql" else "INTEGER PRIMARY KEY"
    op.execute(
        f"""CREATE TABLE measure_cell (
          id {serial},
          kind varchar(30) NOT NULL,
          subdistrict varchar(20) NOT NULL,
          segment varchar(120) NOT NULL,
          CONSTRAINT uq_measure_cell UNIQUE (kind, subdistrict, segment)
        )"""
    )
    op.execute("ALTER TABLE event_measure ADD COLUMN cell integer")
    verb, conflict = ("", "ON CONFLICT DO NOTHING") if dialect == "postgresql" else ("OR IGNORE", "")
    op.execute(FILL[0].format(verb=verb, conflict=conflict))
    op.execute(FILL[1])
    op.execute("CREATE INDEX ix_event_measure_cell ON event_measure (cell, key, valid_at, value, recorded_at)")
    for statement in POSTGRES if dialect == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS measure_cell_insert ON event_measure")
        op.execute("DROP TRIGGER IF EXISTS measure_cell_site ON site")
        op.execute("DROP FUNCTION IF EXISTS recovery_measure_cell()")
        op.execute("DROP FUNCTION IF EXISTS recovery_measure_cell_site()")
    else:
        op.execute("DROP TRIGGER IF EXISTS measure_cell_insert")
        op.execute("DROP TRIGGER IF EXISTS measure_cell_site")
    op.execute("DROP INDEX IF EXISTS ix_event_measure_cell")
    with op.batch_alter_table("event_measure") as batch_op:
        batch_op.drop_column("cell")
    op.execute("DROP TABLE IF EXISTS measure_cell")
