"""Initial schema: teams, sites with geometry, work items, the append-only event ledger, the roll-up.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from geoalchemy2 import Geometry

import recovery.db.types
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def _geometry_type() -> sa.types.TypeEngine:
    """A real PostGIS geometry(Geometry, 4326) on PostgreSQL (QGIS opens it), WKB bytes on SQLite."""
    if op.get_bind().dialect.name == "postgresql":
        return Geometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False)
    return sa.LargeBinary()


def upgrade() -> None:
    op.create_table('rollup_delta',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('subdistrict', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('track', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('quantity', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('delta', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', 'kind', 'subdistrict', 'segment', 'track', 'status', 'quantity', name='uq_rollup_cell')
    )
    with op.batch_alter_table('rollup_delta', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rollup_delta_day'), ['day'], unique=False)

    op.create_table('team',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('subdistrict', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('site',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('deadline', recovery.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('geom', _geometry_type(), nullable=False),
    sa.Column('minx', sa.Float(), nullable=False),
    sa.Column('miny', sa.Float(), nullable=False),
    sa.Column('maxx', sa.Float(), nullable=False),
    sa.Column('maxy', sa.Float(), nullable=False),
    sa.Column('subdistrict', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('track_status', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('capacity_pct', sa.Float(), nullable=True),
    sa.Column('reported_at', recovery.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', recovery.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_valid_at', recovery.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.create_index('ix_site_bbox', ['minx', 'maxx', 'miny', 'maxy'], unique=False)
        batch_op.create_index('ix_site_kind_status', ['kind', 'status'], unique=False)
        batch_op.create_index('ix_site_subdistrict', ['subdistrict'], unique=False)

    op.create_table('work_item',
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('responsible_unit', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('opened_at', recovery.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('feedback_due', recovery.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolve_due', recovery.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fed_back_at', recovery.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', recovery.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', recovery.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_item_site_id'), ['site_id'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('body_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('work_item_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('track', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('from_status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('to_status', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('level', sa.Float(), nullable=True),
    sa.Column('measures', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('valid_at', recovery.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', recovery.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.ForeignKeyConstraint(['work_item_id'], ['work_item.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('client_id')
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_recorded', ['recorded_at'], unique=False)
        batch_op.create_index('ix_event_site_valid', ['site_id', 'track', 'valid_at', 'id'], unique=False)
        batch_op.create_index('ix_event_valid', ['valid_at'], unique=False)
        batch_op.create_index('ix_event_work_item', ['work_item_id'], unique=False)

    op.create_table('event_measure',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('valid_at', recovery.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', recovery.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('event_id', 'key')
    )
    with op.batch_alter_table('event_measure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_measure_site_id'), ['site_id'], unique=False)
        batch_op.create_index('ix_event_measure_valid', ['key', 'valid_at'], unique=False)

    _spatial_index_and_append_only()


def _spatial_index_and_append_only() -> None:
    """PostGIS gets a GiST index; SQLite an R*Tree kept in step by triggers. The ledger refuses edits."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE INDEX ix_site_geom ON site USING gist (geom)")
        op.execute(
            """
            CREATE FUNCTION recovery_event_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'the event ledger is append-only'; END $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
            "FOR EACH ROW EXECUTE FUNCTION recovery_event_append_only()"
        )
        return
    op.execute("CREATE VIRTUAL TABLE site_rtree USING rtree(id, minx, maxx, miny, maxy)")
    op.execute(
        "CREATE TRIGGER site_rtree_insert AFTER INSERT ON site BEGIN "
        "INSERT INTO site_rtree VALUES (new.id, new.minx, new.maxx, new.miny, new.maxy); END"
    )
    op.execute(
        "CREATE TRIGGER site_rtree_update AFTER UPDATE OF minx, maxx, miny, maxy ON site BEGIN "
        "UPDATE site_rtree SET minx = new.minx, maxx = new.maxx, miny = new.miny, maxy = new.maxy "
        "WHERE id = new.id; END"
    )
    op.execute("CREATE TRIGGER site_rtree_delete AFTER DELETE ON site BEGIN DELETE FROM site_rtree WHERE id = old.id; END")
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER event_append_only_{verb.lower()} BEFORE {verb} ON event "
            "BEGIN SELECT RAISE(ABORT, 'the event ledger is append-only'); END"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS event_append_only ON event")
        op.execute("DROP FUNCTION IF EXISTS recovery_event_append_only()")
    else:
        for name in ("site_rtree_insert", "site_rtree_update", "site_rtree_delete",
                     "event_append_only_update", "event_append_only_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS site_rtree")
    with op.batch_alter_table('event_measure', schema=None) as batch_op:
        batch_op.drop_index('ix_event_measure_valid')
        batch_op.drop_index(batch_op.f('ix_event_measure_site_id'))

    op.drop_table('event_measure')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_work_item')
        batch_op.drop_index('ix_event_valid')
        batch_op.drop_index('ix_event_site_valid')
        batch_op.drop_index('ix_event_recorded')

    op.drop_table('event')
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_item_site_id'))

    op.drop_table('work_item')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_index('ix_site_subdistrict')
        batch_op.drop_index('ix_site_kind_status')
        batch_op.drop_index('ix_site_bbox')

    op.drop_table('site')
    op.drop_table('team')
    with op.batch_alter_table('rollup_delta', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rollup_delta_day'))

    op.drop_table('rollup_delta')
