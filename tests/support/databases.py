"""Test databases on SQLite and PostgreSQL/PostGIS, cloned from templates made once per run, and the app on one.

A migrated empty template and a seeded one are made once per run, so that a fresh database per test stays cheap:
a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from recovery import create_app
from recovery.db.engine import make_engine
from recovery.db.migrate import upgrade
from recovery.geodata import load_geodata
from recovery.settings import PROJECT_ROOT
from support.accounts import add_users

PG_ADMIN_URL = os.environ.get("RECOVERY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
#: the parameters of every fixture that gives a database: SQLite, and PostGIS under the `postgis` marker
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgis", marks=pytest.mark.postgis),
]


def load_seed(url: str) -> None:
    """Load the 7·20 seed data into the database at `url`."""
    from recovery.ledger.bulk import load_dataset
    from recovery.seeding import read_dataset

    engine = make_engine(url)
    with Session(engine) as session:
        load_dataset(
            session, load_geodata(PROJECT_ROOT / "geodata"), **read_dataset(PROJECT_ROOT / "seed" / "data")
        )
    engine.dispose()


class SqliteTemplates:
    """Template database files under `folder`; a fresh database is a copy of one."""

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
                load_seed(f"sqlite:///{path}")
            add_users(f"sqlite:///{path}")
            with create_engine(f"sqlite:///{path}").connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            self._made[seeded] = path
        return self._made[seeded]

    def fresh(self, folder: Path, seeded: bool) -> str:
        target = folder / f"db-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(self.template(seeded), target)
        return f"sqlite:///{target}"


class PostgresTemplates:
    """Template databases on the server at PG_ADMIN_URL; a fresh database is CREATE DATABASE … TEMPLATE."""

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
                load_seed(self._url(name))
            add_users(self._url(name))
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


def app_on(url: str, folder: Path, **settings) -> Iterator[Flask]:
    """The app on `url`, photos under `folder`; `settings` override more settings by name. A generator: the
    engine is disposed when it is resumed (fixtures `yield from` it)."""
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


def module_app(request, tmp_path_factory) -> Iterator[Flask]:
    """A seeded app shared by the tests of one module, on each backend: for tables of requests that are all
    refused before they change anything, where a fresh database per row would only cost time. Generator for a
    module-scoped fixture parametrized with BACKENDS."""
    folder = tmp_path_factory.mktemp("module_app")
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_templates").fresh(folder, True)
    else:
        url = request.getfixturevalue("pg_templates").fresh(True)
    yield from app_on(url, folder)
    if request.param != "sqlite":
        request.getfixturevalue("pg_templates").drop(url)


@contextmanager
def db(app) -> Iterator[Session]:
    """A separate connection to the app's database, to see what was really stored."""
    engine = make_engine(app.config["RECOVERY"]["DATABASE_URL"] or "")
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def fingerprint(session: Session) -> dict:
    """Everything a write could change: row counts, the projections and the roll-up, hashed."""
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


def app_fingerprint(app) -> dict:
    """The fingerprint of the app's database, read through a separate connection."""
    with db(app) as session:
        return fingerprint(session)


@contextmanager
def own_session(app: Flask) -> Iterator[Session]:
    """A session of its own on the app's database (another engine, as another process would have; disposed
    after): to look at what the app stored, or to change it behind the app's back."""
    engine = make_engine(app.config["RECOVERY"]["DATABASE_URL"])
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()
