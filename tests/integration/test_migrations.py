"""Schema management: init-db on an empty database and again, real PostGIS geometry, an indexed bbox on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from recovery.db.engine import make_engine
from recovery.db.migrate import current_revision, head_revision, upgrade


def test_upgrade_twice_is_harmless(db_url):
    engine = make_engine(db_url)
    assert current_revision(engine) == head_revision(engine)
    before, after = upgrade(engine)
    assert before == after == head_revision(engine)
    engine.dispose()


def test_init_db_command_on_a_new_sqlite_file(tmp_path):
    from recovery import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", "TESTING": True})
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    second = runner.invoke(args=["init-db"])
    assert first.exit_code == 0 and "(empty) -> " in first.output
    assert second.exit_code == 0 and "already" in second.output
    app.extensions["recovery.engine"].dispose()


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_sqlite_bbox_query_uses_the_rtree(sqlite_templates, tmp_path):
    engine = make_engine(sqlite_templates.fresh(tmp_path, seeded=True))
    query = (
        "SELECT s.id FROM site s JOIN site_rtree r ON r.id = s.id "
        "WHERE r.minx <= :x2 AND r.maxx >= :x1 AND r.miny <= :y2 AND r.maxy >= :y1"
    )
    bounds = {"x1": 113.55, "x2": 113.56, "y1": 34.80, "y2": 34.81}
    with engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + query), bounds))
        assert "VIRTUAL TABLE INDEX" in plan and "SCAN s" not in plan
        via_rtree = {r[0] for r in conn.execute(text(query), bounds)}
        brute = {
            r[0]
            for r in conn.execute(
                text("SELECT id FROM site WHERE minx <= :x2 AND maxx >= :x1 AND miny <= :y2 AND maxy >= :y1"),
                bounds,
            )
        }
    assert via_rtree == brute and len(brute) > 0
    engine.dispose()


@pytest.mark.postgis
def test_postgis_geometry_column_and_gist_index(pg_templates):
    url = pg_templates.fresh(seeded=True)
    engine = make_engine(url)
    with engine.connect() as conn:
        column = conn.execute(
            text(
                "SELECT type, srid FROM geometry_columns WHERE f_table_name = 'site' AND f_geometry_column = 'geom'"
            )
        ).one()
        assert tuple(column) == ("GEOMETRY", 4326)
        index = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_site_geom'")
        ).scalar_one()
        assert "gist" in index.lower()
        # QGIS reads the same column: every site is a valid geometry inside the zone's extent
        invalid = conn.execute(text("SELECT count(*) FROM site WHERE NOT ST_IsValid(geom)")).scalar_one()
        extent = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_XMax(e), ST_YMin(e), ST_YMax(e) "
                "FROM (SELECT ST_Extent(geom) e FROM site) x"
            )
        ).one()
        assert invalid == 0
        assert 113.45 <= extent[0] < extent[1] <= 113.62 and 34.76 <= extent[2] < extent[3] <= 34.90
        conn.execute(text("SET enable_seqscan = off"))
        plan = " ".join(
            r[0]
            for r in conn.execute(
                text(
                    "EXPLAIN SELECT id FROM site WHERE geom && ST_MakeEnvelope(113.55, 34.80, 113.56, 34.81, 4326)"
                )
            )
        )
        assert "ix_site_geom" in plan
    engine.dispose()
    pg_templates.drop(url)


def _import_all_models() -> None:
    """Every module that declares tables: recovery/models*.py and any recovery/**/models.py."""
    import importlib
    import pkgutil

    import recovery

    for info in pkgutil.walk_packages(recovery.__path__, "recovery."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf == "models" or leaf.startswith("models_"):
            importlib.import_module(info.name)


def test_models_and_migrations_agree(db_url):
    """The migrations build exactly the schema the models declare (autogenerate finds nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    _import_all_models()

    def include(obj, name, type_, reflected, compare_to) -> bool:
        # made by hand in the migrations: the R*Trees and their shadow tables, the span table (0005, kept by
        # triggers, not a model), the cells of the measures and of the roll-up (0007, 0009), the PostGIS
        # GiST index
        if (
            type_ == "table"
            and name
            and (
                name.startswith(("site_rtree", "status_span"))
                or name in ("spatial_ref_sys", "measure_cell", "rollup_cell")
            )
        ):
            return False
        return not (type_ == "index" and name == "ix_site_geom")

    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()
