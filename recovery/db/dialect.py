"""What SQLite and PostgreSQL do differently under the features, each answered here for both, so that no
feature module branches on the database's dialect (tests/unit/test_imports.py; the as-of reads keep theirs in
recovery/ledger/asof.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import NoneType
from typing import Any

import numpy as np
import shapely
from sqlalchemy import (
    Connection,
    Engine,
    Float,
    Integer,
    Table,
    cast,
    column,
    func,
    insert,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from recovery.db.types import GeometryType


def _name(bind: Session | Connection) -> str:
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def _as_jsonb(value):
    return cast(value, postgresql.JSONB)


def _as_is(value):
    return value


def json_text_cast(bind: Session | Connection) -> Callable:
    """How a bound JSON text is stored in a JSON column as it is (not decoded and encoded again): cast to JSONB on
    PostgreSQL, the text itself on SQLite. One function per dialect, so that callers may cache on it."""
    return _as_jsonb if _name(bind) == "postgresql" else _as_is


def locks_rows(session: Session) -> bool:
    """Whether the rows a write changes must be read FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE has
    locked the whole database already)."""
    return _name(session) == "postgresql"


def upsert(bind: Session | Connection) -> Callable[[Table], Any]:
    """The dialect's INSERT, which takes `on_conflict_do_nothing` and `on_conflict_do_update` (both databases
    spell them alike)."""
    return postgresql.insert if _name(bind) == "postgresql" else sqlite.insert


def advisory_lock(session: Session, key: int) -> None:
    """Make transactions naming `key` (a signed 64-bit number) wait for each other until the first one ends
    (PostgreSQL's transaction-level advisory lock). SQLite: a no-op, as its writers hold the database's write
    lock already (`begin_write`)."""
    if _name(session) == "postgresql":
        session.connection().execute(select(func.pg_advisory_xact_lock(key)))


def reset_id_sequences(session: Session, tables: tuple[str, ...]) -> None:
    """After rows were written with their ids given: PostgreSQL's id sequences past the highest id (SQLite
    takes max + 1 by itself)."""
    if _name(session) != "postgresql":
        return
    for name in tables:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), GREATEST((SELECT max(id) FROM {name}), 1))"
            )
        )


def fresh_ids(session: Session, model, count: int) -> list[int]:
    """`count` fresh ids: from the sequence on PostgreSQL (safe beside other writers), max + 1 on SQLite
    (whose writers are serialized by the write lock taken at BEGIN)."""
    if _name(session) == "postgresql":
        name = model.__tablename__
        rows = session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{name}', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        )
        return sorted(r[0] for r in rows)
    start = (session.scalar(select(func.max(model.id))) or 0) + 1
    return list(range(start, start + count))


@contextmanager
def sqlite_cache(session: Session, kib: int) -> Iterator[None]:
    """SQLite's page cache at `kib` KiB for the block (a large write); elsewhere nothing changes."""
    if _name(session) != "sqlite":
        yield
        return
    connection = session.connection()
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{kib}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def insert_many(session: Session, target: Table, rows: list[dict[str, Any]]) -> None:
    """A Core executemany; on SQLite straight to the driver, each column's bind processor run once per
    distinct value (an import's times, actor, note and empty documents repeat on every row)."""
    if not rows:
        return
    dialect = session.bind.dialect
    if dialect.name != "sqlite":
        session.execute(insert(target), rows)
        return
    names = list(rows[0])
    values = [[row[name] for name in names] for row in rows]
    for index, name in enumerate(names):
        if isinstance(target.c[name].type, GeometryType):  # WKB, as its processor writes it, in one call
            wkb = shapely.to_wkb(np.array([v[index] for v in values], dtype=object))
            for row_values, blob in zip(values, wkb, strict=True):
                row_values[index] = blob
            continue
        processor = target.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            process = _memo(processor)
            for row_values in values:
                row_values[index] = process(row_values[index])
    quote = dialect.identifier_preparer.quote
    sql = f"INSERT INTO {target.name} ({', '.join(quote(n) for n in names)}) VALUES ({', '.join('?' * len(names))})"
    session.connection().exec_driver_sql(sql, [tuple(v) for v in values])


def _memo(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        if isinstance(value, dict) and not value:
            if "{}" not in cache:
                cache["{}"] = process(value)
            return cache["{}"]
        if not isinstance(value, datetime | str | int | float | NoneType):
            return process(value)  # a geometry, a document: different on every row
        try:
            return cache[value]
        except KeyError:
            cache[value] = out = process(value)
            return out

    return run


def bbox_condition(
    session: Session, id_column, geom_column, rtree: str, bbox: tuple[float, float, float, float]
):
    """Rows whose bounding box meets `bbox` (WGS-84), through the spatial index: SQLite's R*Tree table `rtree`
    (keyed by `id_column`), PostGIS's && on `geom_column`."""
    minx, miny, maxx, maxy = bbox
    if _name(session) == "sqlite":
        index = table(
            rtree, column("id", Integer), *(column(n, Float) for n in ("minx", "maxx", "miny", "maxy"))
        )
        c = index.c
        return id_column.in_(
            select(c.id).where(c.minx <= maxx, c.maxx >= minx, c.miny <= maxy, c.maxy >= miny)
        )
    envelope = text("ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)").bindparams(
        x1=minx, y1=miny, x2=maxx, y2=maxy
    )
    return geom_column.op("&&")(envelope)


def file_beside(bind: Session | Connection | Engine, suffix: str) -> Path | None:
    """A file next to a SQLite database file (`<database>` + `suffix`), which every process of that database sees
    on the same machine: SQLite's own processes can only be on one. None for PostgreSQL, whose processes may
    be on several machines, and for a SQLite database in memory (one process only)."""
    engine = bind.get_bind().engine if isinstance(bind, Session) else bind.engine
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(f"{database}{suffix}")


def notify(session: Session, channel: str, payload: str) -> None:
    """Tell the other processes of the database `payload` on `channel` once the session's transaction commits
    (PostgreSQL's NOTIFY: sent at commit, never for a rollback). SQLite: a no-op (see `file_beside`)."""
    if _name(session) == "postgresql":
        session.connection().execute(select(func.pg_notify(channel, payload)))


def listen(
    engine: Engine, channel: str, heard: Callable[[str | None], None], alive: Callable[[], bool]
) -> threading.Thread | None:
    """On PostgreSQL, a daemon thread on a connection of its own that calls `heard(payload)` for each NOTIFY on
    `channel`, and `heard(None)` whenever it (re)connects (what was sent while it was away is lost), until
    `alive()` turns false. SQLite: None (nothing is sent; see `file_beside`)."""
    if engine.dialect.name != "postgresql":
        return None
    import psycopg

    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    def run() -> None:
        while alive():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f'LISTEN "{channel}"')
                    heard(None)
                    while alive():
                        for message in conn.notifies(timeout=1.0):
                            heard(message.payload)
            except psycopg.Error:
                time.sleep(1.0)  # the database is away: try again, and forget everything once back

    thread = threading.Thread(target=run, name=f"listen-{channel}", daemon=True)
    thread.start()
    return thread
