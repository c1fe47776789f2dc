"""Engines for SQLite (WAL, foreign keys, durable commits) and PostgreSQL; the request session lives on `g`."""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from recovery.db.dialect import file_beside


def default_sqlite_url(instance_path: str | Path) -> str:
    return f"sqlite:///{Path(instance_path) / 'recovery.sqlite3'}"


def make_engine(url: str, *, synchronous: str = "FULL", echo: bool = False) -> Engine:
    """Create an engine; on SQLite every connection gets WAL, foreign keys and the chosen durability."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
        sync = synchronous.upper()
        if sync not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"RECOVERY_SQLITE_SYNCHRONOUS: {synchronous!r}")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no branch - runs per connection
            cursor = dbapi_connection.cursor()
            if ":memory:" not in url and url != "sqlite://":
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA synchronous={sync}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        lock_path = file_beside(engine, "-writer")
        queue = WRITER_QUEUES[engine] = WriterQueue(
            engine, lock_path=None if lock_path is None else str(lock_path)
        )

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # writers take the lock at BEGIN (see `begin_write`) so that two of them queue on busy_timeout
            # instead of one failing when it upgrades a read lock; readers stay lock-free under WAL
            immediate = conn.get_execution_options().get("sqlite_immediate")
            if immediate:
                queue.enter(conn.connection.dbapi_connection)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        # let SQLAlchemy's BEGIN be ours (pysqlite otherwise opens transactions lazily on its own)
        @event.listens_for(engine, "connect")
        def _sqlite_no_autobegin(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


class WriterQueue:
    """The writers of one process wait for SQLite's write lock here, in a queue, instead of in SQLite.

    SQLite's busy handler makes a waiting writer sleep and retry (1, 2, 5, … up to 100 ms), so the lock is often
    free while every waiter sleeps and a newcomer takes it before those who waited longest: that is where a
    p99 of seconds comes from under many concurrent writers. Here a writer thread takes a process-wide lock
    before `BEGIN IMMEDIATE` and gives it back as soon as its transaction ends (commit, rollback, or its
    connection going back to the pool or closing); the next waiter wakes at once. SQLite's lock stays the real
    guard: were the queue lock ever kept too long, a writer would stop waiting for it after `timeout` seconds
    and go on to SQLite's own lock.

    Writers of several processes (`recovery serve --workers 2` on SQLite, the command line beside the server)
    queue the same way, on an exclusive `flock` of the file `lock_path` (beside the database), taken once the
    process's own lock is held: the kernel wakes the next waiter as soon as the holder lets go, where SQLite's
    busy handler would have it sleep. A process that dies holding it lets go with it.
    """

    def __init__(self, engine: Engine, timeout: float = 30.0, lock_path: str | None = None) -> None:
        # a plain lock, which any thread may release (a connection may go back to the pool from another thread)
        self.lock = threading.Lock()
        self.timeout = timeout
        self.holder: int | None = None  # id() of the DBAPI connection whose transaction holds the lock
        self.guard = threading.Lock()
        self.lock_path = lock_path
        self._file: tuple[int, int] | None = None  # (process id, descriptor): a forked child opens its own
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(dbapi_connection):
            try:
                commit(dbapi_connection)
            finally:
                self.leave(dbapi_connection)

        def do_rollback(dbapi_connection):
            try:
                rollback(dbapi_connection)
            finally:
                self.leave(dbapi_connection)

        dialect.do_commit, dialect.do_rollback = do_commit, do_rollback
        for name in ("checkin", "close", "invalidate"):
            event.listen(engine, name, lambda dbapi_connection, *_: self.leave(dbapi_connection))

    @staticmethod
    def _key(dbapi_connection) -> int:
        return id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))

    def enter(self, dbapi_connection) -> None:
        if self.lock.acquire(timeout=self.timeout):
            self._lock_file()
            with self.guard:
                self.holder = self._key(dbapi_connection)

    def leave(self, dbapi_connection) -> None:
        if dbapi_connection is None:
            return
        with self.guard:
            if self.holder is None or self.holder != self._key(dbapi_connection):
                return
            self.holder = None
            if self._file is not None and self._file[0] == os.getpid():
                fcntl.flock(self._file[1], fcntl.LOCK_UN)
            self.lock.release()

    def _lock_file(self) -> None:
        """The other processes' writers wait here (the process's own lock is held: one thread at a time)."""
        if self.lock_path is None:
            return
        if self._file is None or self._file[0] != os.getpid():
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:  # a read-only folder: SQLite's own lock keeps the writers apart
                self.lock_path = None
                return
            self._file = (os.getpid(), fd)
            weakref.finalize(self, os.close, fd)
        fcntl.flock(self._file[1], fcntl.LOCK_EX)


#: each SQLite engine's queue of writers (see `WriterQueue`)
WRITER_QUEUES: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def init_app(app: Flask) -> None:
    """Attach the engine to the app and close the request's session on teardown."""
    settings = app.config["RECOVERY"]
    url = settings["DATABASE_URL"] or default_sqlite_url(app.instance_path)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    app.extensions["recovery.engine"] = make_engine(
        url, synchronous=settings["SQLITE_SYNCHRONOUS"], echo=settings["DB_ECHO"]
    )
    app.teardown_appcontext(_close_session)


def get_engine() -> Engine:
    return current_app.extensions["recovery.engine"]


def get_session() -> Session:
    """The session of the current app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(get_engine(), expire_on_commit=False)
    return g.db_session


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer (BEGIN IMMEDIATE on SQLite; a no-op elsewhere).

    A read-only transaction already open on the session is ended first, so the write lock is taken before
    anything the write depends on is read.
    """
    if session.bind.dialect.name != "sqlite":
        return
    if session.in_transaction() and session.info.get("write_transaction"):
        return
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write called with unsaved changes in the session")
        session.rollback()
    session.connection(execution_options={"sqlite_immediate": True})
    session.info["write_transaction"] = True


@event.listens_for(Session, "after_transaction_end")
def _end_write(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("write_transaction", None)


def _close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
