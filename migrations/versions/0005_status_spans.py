"""A valid-time index of the ledger: each status event's span, found by the instant it contains.

A status event e of a (site, track) says what the state is for every T in (e.valid_at, next.valid_at], where
`next` is the following status event of the same (site, track) in (valid_at, id) order — the span over which e
is "the latest status event before T". `status_span` keeps one row per unflagged status event with that span and
its *cell* (kind, sub-district, segment, track, status: `status_span_cell`), so "how many sites stand in each
cell as of T" is a stabbing query that reads only the spans containing T, and only their cell numbers. Triggers
keep it on every insert path (the API, the importer, the bulk loader) and when a site's kind, sub-district or
segment changes; `recovery ledger rebuild` rewrites it and `recovery ledger verify` checks it.

A cell's number is negative for the kinds whose status is per track (a community's utilities: its overall status
needs all of its tracks, so those spans are read per site). A cell also holds the level the event sets (an
enterprise's capacity %; -1 for none), so that the sum of levels in a cell is its count times its level.

SQLite: an R*Tree (`rtree_i32`) over whole seconds since 2020-01-01 UTC (widened outwards; the exact bounds are
auxiliary columns), the cell and the site: counting by cell never leaves the R*Tree's nodes. PostgreSQL: a
table with a GiST index on the range `(valid_from, valid_to]` that includes the cell (index-only scans).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATUS = "action IN ('report', 'transition', 'reopen') AND flag IS NULL"
#: kinds whose status is kept per track (recovery.kinds: `tracks`), as of this migration
TRACKED = ("residential_community",)
EPOCH = 1577836800  # 2020-01-01 UTC: the R*Tree's integer axis (fits 32 bits until 2088)
OPEN = 2147483647
NO_LEVEL = -1.0


def _secs(expr: str) -> str:
    return f"(CAST(strftime('%s', {expr}) AS INTEGER) - {EPOCH})"


def _cell_number(cell: str, kind: str) -> str:
    """The signed, offset number of a cell row `cell` for a site of kind `kind` (SQL)."""
    return f"(CASE WHEN {kind} IN (SELECT kind FROM status_span_tracked) THEN -{cell}.id ELSE {cell}.id END)"


def _cell_of(site: str, track: str, status: str, level: str) -> str:
    """SQL: the number of the cell of a span, the cell row being made first by the caller."""
    return (
        f"(SELECT {_cell_number('c', f'{site}.kind')} FROM status_span_cell c "
        f"WHERE c.kind = {site}.kind AND c.subdistrict = coalesce({site}.subdistrict, '') "
        f"AND c.segment = {site}.segment AND c.track = {track} AND c.status = {status} AND c.level = coalesce({level}, {NO_LEVEL}))"
    )


_SITE_CELL = _cell_of("NEW", "status_span.track", "status_span.to_status", "status_span.level")

CELL_TABLE = [
    """CREATE TABLE status_span_cell (
      id {serial},
      kind varchar(30) NOT NULL,
      subdistrict varchar(20) NOT NULL,
      segment varchar(120) NOT NULL,
      track varchar(20) NOT NULL,
      status varchar(30) NOT NULL,
      level double precision NOT NULL,
      CONSTRAINT uq_status_span_cell UNIQUE (kind, subdistrict, segment, track, status, level)
    )""",
    "CREATE TABLE status_span_tracked (kind varchar(30) PRIMARY KEY)",
]

SQLITE = [
    "CREATE VIRTUAL TABLE status_span USING rtree_i32("
    "event_id, v0, v1, c0, c1, s0, s1, +track, +to_status, +level, +valid_from, +valid_to)",
    f"""CREATE TRIGGER status_span_insert AFTER INSERT ON event WHEN NEW.action IN ('report', 'transition', 'reopen')
    AND NEW.flag IS NULL BEGIN
      UPDATE status_span SET valid_to = NEW.valid_at, v1 = {_secs("NEW.valid_at")} + 1
      WHERE event_id = (
        SELECT id FROM event WHERE site_id = NEW.site_id AND track IS NEW.track AND {STATUS}
          AND (valid_at < NEW.valid_at OR (valid_at = NEW.valid_at AND id < NEW.id))
        ORDER BY valid_at DESC, id DESC LIMIT 1);
      INSERT OR IGNORE INTO status_span_cell (kind, subdistrict, segment, track, status, level)
      SELECT kind, coalesce(subdistrict, ''), segment, coalesce(NEW.track, ''), coalesce(NEW.to_status, ''),
             coalesce(NEW.level, {NO_LEVEL})
      FROM site WHERE id = NEW.site_id;
      INSERT INTO status_span (event_id, v0, v1, c0, c1, s0, s1, track, to_status, level, valid_from, valid_to)
      SELECT NEW.id, {_secs("NEW.valid_at")}, coalesce({_secs("nxt")} + 1, {OPEN}), cell, cell, NEW.site_id,
             NEW.site_id, coalesce(NEW.track, ''), coalesce(NEW.to_status, ''), NEW.level, NEW.valid_at, nxt
      FROM (SELECT (
        SELECT valid_at FROM event WHERE site_id = NEW.site_id AND track IS NEW.track AND {STATUS}
          AND (valid_at > NEW.valid_at OR (valid_at = NEW.valid_at AND id > NEW.id))
        ORDER BY valid_at, id LIMIT 1) AS nxt,
        (SELECT {_cell_of("s", "coalesce(NEW.track, '')", "coalesce(NEW.to_status, '')", "NEW.level")}
         FROM site s WHERE s.id = NEW.site_id) AS cell);
    END""",
    f"""CREATE TRIGGER status_span_site AFTER UPDATE OF kind, subdistrict, segment ON site BEGIN
      INSERT OR IGNORE INTO status_span_cell (kind, subdistrict, segment, track, status, level)
      SELECT DISTINCT NEW.kind, coalesce(NEW.subdistrict, ''), NEW.segment, track, to_status,
             coalesce(level, {NO_LEVEL})
      FROM status_span WHERE s0 = NEW.id AND s1 = NEW.id;
      UPDATE status_span SET
        c0 = {_cell_of("NEW", "status_span.track", "status_span.to_status", "status_span.level")},
        c1 = {_cell_of("NEW", "status_span.track", "status_span.to_status", "status_span.level")}
      WHERE s0 = NEW.id AND s1 = NEW.id;
    END""",
]

POSTGRES = [
    """CREATE TABLE status_span (
      event_id integer PRIMARY KEY REFERENCES event (id),
      site_id integer NOT NULL,
      cell integer NOT NULL,
      track varchar(20) NOT NULL,
      to_status varchar(30) NOT NULL,
      level double precision,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz
    )""",
    "CREATE INDEX ix_status_span_valid ON status_span USING gist (tstzrange(valid_from, valid_to, '(]')) "
    "INCLUDE (cell, site_id, level)",
    "CREATE INDEX ix_status_span_site ON status_span (site_id)",
    f"""CREATE FUNCTION recovery_status_span() RETURNS trigger AS $$
    DECLARE nxt timestamptz; site_row site%ROWTYPE; cell_number integer;
    BEGIN
      UPDATE status_span SET valid_to = NEW.valid_at
      WHERE event_id = (
        SELECT id FROM event WHERE site_id = NEW.site_id AND track IS NOT DISTINCT FROM NEW.track AND {STATUS}
          AND (valid_at, id) < (NEW.valid_at, NEW.id)
        ORDER BY valid_at DESC, id DESC LIMIT 1);
      SELECT valid_at INTO nxt FROM event
        WHERE site_id = NEW.site_id AND track IS NOT DISTINCT FROM NEW.track AND {STATUS}
          AND (valid_at, id) > (NEW.valid_at, NEW.id)
        ORDER BY valid_at, id LIMIT 1;
      INSERT INTO status_span_cell (kind, subdistrict, segment, track, status, level)
      SELECT kind, coalesce(subdistrict, ''), segment, coalesce(NEW.track, ''), coalesce(NEW.to_status, ''),
             coalesce(NEW.level, {NO_LEVEL})
      FROM site WHERE id = NEW.site_id ON CONFLICT DO NOTHING;
      SELECT {_cell_of("s", "coalesce(NEW.track, '')", "coalesce(NEW.to_status, '')", "NEW.level")}
        INTO cell_number FROM site s WHERE s.id = NEW.site_id;
      INSERT INTO status_span (event_id, site_id, cell, track, to_status, level, valid_from, valid_to)
      VALUES (NEW.id, NEW.site_id, cell_number, coalesce(NEW.track, ''), coalesce(NEW.to_status, ''), NEW.level,
              NEW.valid_at, nxt);
      RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER status_span_insert AFTER INSERT ON event FOR EACH ROW "
    "WHEN (NEW.action IN ('report', 'transition', 'reopen') AND NEW.flag IS NULL) "
    "EXECUTE FUNCTION recovery_status_span()",
    f"""CREATE FUNCTION recovery_status_span_site() RETURNS trigger AS $$
    BEGIN
      INSERT INTO status_span_cell (kind, subdistrict, segment, track, status, level)
      SELECT DISTINCT NEW.kind, coalesce(NEW.subdistrict, ''), NEW.segment, track, to_status,
             coalesce(level, {NO_LEVEL})
      FROM status_span WHERE site_id = NEW.id ON CONFLICT DO NOTHING;
      UPDATE status_span SET cell = {_SITE_CELL} WHERE site_id = NEW.id;
      RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER status_span_site AFTER UPDATE OF kind, subdistrict, segment ON site FOR EACH ROW "
    "WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.subdistrict IS DISTINCT FROM NEW.subdistrict "
    "OR OLD.segment IS DISTINCT FROM NEW.segment) EXECUTE FUNCTION recovery_status_span_site()",
]

#: the cells and spans of the events already stored (also what `recovery ledger rebuild` does, in recovery.ledger.spans)
FILL_CELLS = f"""INSERT INTO status_span_cell (kind, subdistrict, segment, track, status, level)
SELECT DISTINCT s.kind, coalesce(s.subdistrict, ''), s.segment, coalesce(e.track, ''), coalesce(e.to_status, ''),
       coalesce(e.level, {NO_LEVEL})
FROM event e JOIN site s ON s.id = e.site_id WHERE e.{STATUS.replace(" AND flag", " AND e.flag")}"""
SPANS = f"""SELECT e.id AS event_id, e.site_id, coalesce(e.track, '') AS track, coalesce(e.to_status, '') AS to_status,
       e.level, e.valid_at AS valid_from,
       lead(e.valid_at) OVER (PARTITION BY e.site_id, e.track ORDER BY e.valid_at, e.id) AS valid_to,
       {_cell_number("c", "s.kind")} AS cell
FROM event e JOIN site s ON s.id = e.site_id
JOIN status_span_cell c ON c.kind = s.kind AND c.subdistrict = coalesce(s.subdistrict, '') AND c.segment = s.segment
  AND c.track = coalesce(e.track, '') AND c.status = coalesce(e.to_status, '')
  AND c.level = coalesce(e.level, {NO_LEVEL})
WHERE e.{STATUS.replace(" AND flag", " AND e.flag")}"""
FILL = {
    "sqlite": f"""INSERT INTO status_span (event_id, v0, v1, c0, c1, s0, s1, track, to_status, level, valid_from,
      valid_to)
    SELECT event_id, {_secs("valid_from")}, coalesce({_secs("valid_to")} + 1, {OPEN}), cell, cell, site_id, site_id,
           track, to_status, level, valid_from, valid_to FROM ({SPANS})""",
    "postgresql": f"""INSERT INTO status_span (event_id, site_id, cell, track, to_status, level, valid_from, valid_to)
    SELECT event_id, site_id, cell, track, to_status, level, valid_from, valid_to FROM ({SPANS}) AS spans""",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    serial = "serial PRIMARY KEY" if dialect == "postgresql" else "INTEGER PRIMARY KEY"
    for statement in CELL_TABLE:
        op.execute(statement.format(serial=serial))
    for kind in TRACKED:
        op.execute(f"INSERT INTO status_span_tracked (kind) VALUES ('{kind}')")
    for statement in POSTGRES if dialect == "postgresql" else SQLITE:
        op.execute(statement)
    op.execute(FILL_CELLS)
    op.execute(FILL[dialect])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS status_span_insert ON event")
        op.execute("DROP TRIGGER IF EXISTS status_span_site ON site")
        op.execute("DROP FUNCTION IF EXISTS recovery_status_span()")
        op.execute("DROP FUNCTION IF EXISTS recovery_status_span_site()")
    else:
        op.execute("DROP TRIGGER IF EXISTS status_span_insert")
        op.execute("DROP TRIGGER IF EXISTS status_span_site")
    for table in ("status_span", "status_span_cell", "status_span_tracked"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
