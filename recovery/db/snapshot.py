"""A consistent copy of the whole database taken while the app writes, and loading one back: SQLite's online
backup API, PostgreSQL's pg_dump and pg_restore. The archive around it is `recovery.backup`'s."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

from recovery.errors import ConfigError, ValidationError

#: the file name of the copy inside a backup, by database kind
COPY_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


def database_kind(engine: Engine) -> str:
    """ "sqlite" or "postgresql": the kind a copy is made of, and the only kind it can be loaded into."""
    return engine.dialect.name


@contextmanager
def copy_database(engine: Engine, target: Path) -> Iterator[Connection]:
    """Write a consistent copy of the database to `target` while others keep writing, and yield a connection
    that reads exactly what the copy holds (to count and describe it)."""
    if database_kind(engine) == "sqlite":
        with _sqlite_copy(engine, target) as conn:
            yield conn
    else:
        with _postgres_copy(engine, target) as conn:
            yield conn


def load_copy(engine: Engine, source: Path) -> None:
    """Replace everything in the engine's database by the copy at `source`, in one transaction."""
    engine.dispose()  # no pooled connection of ours holds the old database while it is replaced
    if database_kind(engine) == "sqlite":
        _sqlite_load(engine, source)
    else:
        _postgres_load(engine, source)
    engine.dispose()


# --- SQLite ---------------------------------------------------------------------------------------------------


def _sqlite_file(engine: Engine) -> Path:
    name = engine.url.database
    if not name or name == ":memory:":
        raise ValidationError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(name)


@contextmanager
def _sqlite_copy(engine: Engine, target: Path) -> Iterator[Connection]:
    source = sqlite3.connect(_sqlite_file(engine), timeout=30)
    copy = sqlite3.connect(target)
    try:
        # one step (pages=-1): the whole copy is read under one read transaction, so it is one moment of the
        # database; under WAL the app's writers go on meanwhile
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    reader = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        with reader.connect() as conn:
            yield conn
    finally:
        reader.dispose()


def _sqlite_load(engine: Engine, source: Path) -> None:
    path = _sqlite_file(engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    copy = sqlite3.connect(source)
    target = sqlite3.connect(path, timeout=30)
    try:
        copy.backup(target)  # page by page into the target, under its write lock: all or nothing
    finally:
        target.close()
        copy.close()


# --- PostgreSQL -----------------------------------------------------------------------------------------------


def _client(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise ConfigError(
            "%(program)s was not found on PATH: install the PostgreSQL client programs (the Debian package "
            "postgresql-client) of the server's major version or later.",
            program=program,
        )
    return found


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The database's address as pg_dump and pg_restore take it, and their environment: the password goes in
    PGPASSWORD, never on a command line that `ps` shows."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    address = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return address, env


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise ValidationError(
            "%(program)s failed: %(reason)s", program=what, reason=(done.stderr.strip() or "?")[-800:]
        )


@contextmanager
def _postgres_copy(engine: Engine, target: Path) -> Iterator[Connection]:
    pg_dump = _client("pg_dump")
    address, env = _libpq(engine)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            # pg_dump reads the snapshot this transaction exported, and so does the caller's connection: the
            # copy and its description are the same moment
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                    f"--dbname={address}",
                ],
                env,
                "pg_dump",
            )
            yield conn


def _postgres_load(engine: Engine, source: Path) -> None:
    pg_restore = _client("pg_restore")
    address, env = _libpq(engine)
    # --clean --if-exists: what init-db may already have made is replaced; --single-transaction: all or nothing;
    # --no-owner --no-privileges: the roles of the machine the copy was made on need not exist here
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            f"--dbname={address}",
            str(source),
        ],
        env,
        "pg_restore",
    )
