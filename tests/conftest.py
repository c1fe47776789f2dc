"""Fixtures: a fresh database per test on SQLite and on PostgreSQL/PostGIS, with or without the seed data, and the
app, its clients and CLI runner on it. The helpers behind them live in `support`; tests import from there."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from support.accounts import auth
from support.databases import BACKENDS, PG_ADMIN_URL, PostgresTemplates, SqliteTemplates, app_on
from werkzeug.serving import make_server

from recovery.db.engine import make_engine
from recovery.geodata import load_geodata
from recovery.settings import PROJECT_ROOT


@pytest.fixture(scope="session")
def geodata():
    return load_geodata(PROJECT_ROOT / "geodata")


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory):
    return SqliteTemplates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session")
def pg_templates():
    templates = PostgresTemplates()
    try:
        with templates.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the CI must run these: fail, do not skip
        pytest.fail(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); run .ci/run or set RECOVERY_TEST_PG_URL"
        )
    yield templates
    templates.close()


def _database(request, tmp_path, seeded: bool):
    backend = request.param
    if backend == "sqlite":
        yield request.getfixturevalue("sqlite_templates").fresh(tmp_path, seeded)
        return
    templates = request.getfixturevalue("pg_templates")
    url = templates.fresh(seeded)
    yield url
    templates.drop(url)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, migrated, empty database on each backend."""
    yield from _database(request, tmp_path, seeded=False)


@pytest.fixture(params=BACKENDS)
def seeded_url(request, tmp_path):
    """A fresh database on each backend with the 7·20 seed data loaded."""
    yield from _database(request, tmp_path, seeded=True)


@pytest.fixture
def session(db_url):
    engine = make_engine(db_url)
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


@pytest.fixture
def seeded_session(seeded_url):
    engine = make_engine(seeded_url)
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


@pytest.fixture
def app(db_url, tmp_path):
    yield from app_on(db_url, tmp_path)


@pytest.fixture
def seeded_app(seeded_url, tmp_path):
    yield from app_on(seeded_url, tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def seeded_client(seeded_app):
    return seeded_app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def seeded_runner(seeded_app):
    return seeded_app.test_cli_runner()


@pytest.fixture
def site_id(client, geodata):
    """The id of a silt site just reported by the field user, in their sub-district (fengyang)."""
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    response = client.post(
        "/api/v1/sites",
        headers={**auth("field"), "Idempotency-Key": uuid.uuid4().hex},
        json={"kind": "silt_site", "name": "地下车库", "position": {"lon": point.x, "lat": point.y}},
    )
    return response.get_json()["site"]["id"]


@pytest.fixture
def live_server(seeded_app):
    """The seeded app served by a thread on a free local port; its base address."""
    server = make_server("127.0.0.1", 0, seeded_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
