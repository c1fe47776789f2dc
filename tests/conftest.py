"""Fixtures: a fresh database per test on SQLite and on PostgreSQL/PostGIS, with or without the seed data.

Databases are cloned from templates made once per run (a migrated empty one, a seeded one), so that a fresh
database per test stays cheap: a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from recovery import create_app
from recovery.db.engine import make_engine
from recovery.db.migrate import upgrade
from recovery.geodata import load_geodata
from recovery.settings import PROJECT_ROOT

PG_ADMIN_URL = os.environ.get("RECOVERY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgis", marks=pytest.mark.postgis),
]


@pytest.fixture(scope="session")
def geodata():
    return load_geodata(PROJECT_ROOT / "geodata")


#: one user per role, made in every template database; tokens are stored as hashes like real ones
TEST_PASSWORD = "correct horse battery"
TEST_USERS = {
    "commander": ("commander", []),
    "reporter": ("reporter", []),
    "admin": ("admin", []),
    "field": ("field", ["fengyang"]),
    "field_shifo": ("field", ["shifo"]),
}
TEST_TOKENS = {name: f"rcv_test_{name}_token" for name in TEST_USERS}


def _add_users(url: str) -> None:
    from werkzeug.security import generate_password_hash

    from recovery.auth.accounts import token_hash
    from recovery.models_accounts import ApiToken, User
    from recovery.timeutil import now

    engine = make_engine(url)
    password_hash = generate_password_hash(TEST_PASSWORD)
    with Session(engine) as session:
        for name, (role, scope) in TEST_USERS.items():
            user = User(
                username=name,
                role=role,
                scope=scope,
                display_name=f"测试{name}",
                password_hash=password_hash,
                created_at=now(),
            )
            session.add(user)
            session.flush()
            session.add(ApiToken(user_id=user.id, token_hash=token_hash(TEST_TOKENS[name]), created_at=now()))
        session.commit()
    engine.dispose()


def auth(name: str) -> dict:
    """Headers of an API client signed in as the test user `name`."""
    return {"Authorization": f"Bearer {TEST_TOKENS[name]}"}


def login(client, name: str, password: str = TEST_PASSWORD):
    """Sign in through the real form, CSRF token and all; returns the response to the POST."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token.group(1)})


def _load_seed(url: str) -> None:
    from recovery.ledger.bulk import load_dataset
    from recovery.seeding import read_dataset

    engine = make_engine(url)
    with Session(engine) as session:
        load_dataset(
            session, load_geodata(PROJECT_ROOT / "geodata"), **read_dataset(PROJECT_ROOT / "seed" / "data")
        )
    engine.dispose()


class SqliteTemplates:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._made: dict[bool, Path] = {}

    def template(self, seeded: bool) -> Path:
        if seeded not in self._made:
            path = self.folder / ("seeded.sqlite3" if seeded else "empty.sqlite3")
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            engine.dispose()
            if seeded:
                _load_seed(f"sqlite:///{path}")
            _add_users(f"sqlite:///{path}")
            with create_engine(f"sqlite:///{path}").connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            self._made[seeded] = path
        return self._made[seeded]

    def fresh(self, folder: Path, seeded: bool) -> str:
        target = folder / f"db-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(self.template(seeded), target)
        return f"sqlite:///{target}"


class PostgresTemplates:
    def __init__(self) -> None:
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.prefix = f"rt_{os.getpid()}"
        self._made: dict[bool, str] = {}
        self.created: list[str] = []

    def _url(self, name: str) -> str:
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> None:
        with self.admin.connect() as conn:
            suffix = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f"CREATE DATABASE {name}{suffix}"))
        self.created.append(name)

    def template(self, seeded: bool) -> str:
        if seeded not in self._made:
            name = f"{self.prefix}_tpl_{'seeded' if seeded else 'empty'}"
            self._create(name)
            engine = make_engine(self._url(name))
            upgrade(engine)
            engine.dispose()
            if seeded:
                _load_seed(self._url(name))
            _add_users(self._url(name))
            self._made[seeded] = name
        return self._made[seeded]

    def fresh(self, seeded: bool) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:10]}"
        self._create(name, self.template(seeded))
        return self._url(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[-1]
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        self.created.remove(name)

    def close(self) -> None:
        for name in list(reversed(self.created)):
            with self.admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        self.admin.dispose()


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


def _app(url: str, folder: Path, **settings):
    """The app on `url`, photos under `folder`; `settings` override more settings by name."""
    app = create_app(
        {
            "DATABASE_URL": url,
            "TESTING": True,
            "SECURE_COOKIES": False,
            "PHOTO_DIR": str(folder / "photos"),
            **settings,
        }
    )
    yield app
    app.extensions["recovery.engine"].dispose()


@pytest.fixture
def app(db_url, tmp_path):
    yield from _app(db_url, tmp_path)


@pytest.fixture
def seeded_app(seeded_url, tmp_path):
    yield from _app(seeded_url, tmp_path)


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


def fingerprint(session: Session) -> dict:
    """Everything a write could change: row counts, the projections and the roll-up, hashed."""
    import hashlib

    session.rollback()
    out = {}
    for table in ("team", "site", "work_item", "event", "event_measure", "rollup_delta"):
        out[table] = session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    rows = session.execute(text("SELECT id, status, version, capacity_pct FROM site ORDER BY id")).all()
    out["sites"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    rows = session.execute(
        text(
            "SELECT day, kind, subdistrict, segment, track, status, quantity, delta "
            "FROM rollup_delta ORDER BY 1, 2, 3, 4, 5, 6, 7"
        )
    ).all()
    out["rollup"] = hashlib.sha256(repr([(*r[:7], round(r[7], 6)) for r in rows]).encode()).hexdigest()
    session.rollback()
    return out
