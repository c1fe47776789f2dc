"""SQLite writers of one process queue for the write lock in the process (`WriterQueue`), not in SQLite's
busy handler; the queue is given back however a write transaction ends, and never changes what is stored."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from recovery.db.engine import WRITER_QUEUES, begin_write, make_engine


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE item (id INTEGER PRIMARY KEY, writer INTEGER, n INTEGER)")
    yield engine
    engine.dispose()


def _write(engine, writer: int, n: int, *, fail: bool = False) -> None:
    with Session(engine) as session:
        begin_write(session)
        session.execute(text("INSERT INTO item (writer, n) VALUES (:w, :n)"), {"w": writer, "n": n})
        if fail:
            session.rollback()
            return
        session.commit()


def test_a_write_transaction_holds_the_queue_until_it_ends(engine):
    queue = WRITER_QUEUES[engine]
    with Session(engine) as session:
        begin_write(session)
        assert queue.lock.locked()
        session.commit()
    assert not queue.lock.locked()
    with Session(engine) as session:
        begin_write(session)
        assert queue.lock.locked()
        session.rollback()
        assert not queue.lock.locked()


def test_a_transaction_left_open_gives_the_queue_back_when_its_session_closes(engine):
    queue = WRITER_QUEUES[engine]
    session = Session(engine)
    begin_write(session)
    session.execute(text("INSERT INTO item (writer, n) VALUES (1, 1)"))
    assert queue.lock.locked()
    session.close()  # neither commit nor rollback: the connection goes back to the pool
    assert not queue.lock.locked()
    _write(engine, 2, 1)  # the next writer is not kept waiting
    with engine.connect() as conn:
        assert conn.execute(text("SELECT writer FROM item")).scalars().all() == [2]


def test_a_failed_statement_gives_the_queue_back(engine):
    queue = WRITER_QUEUES[engine]
    with Session(engine) as session:
        begin_write(session)
        with pytest.raises(Exception, match="no such table"):
            session.execute(text("INSERT INTO missing VALUES (1)"))
        session.rollback()
    assert not queue.lock.locked()


def test_readers_do_not_wait_for_the_queue(engine):
    _write(engine, 0, 0)
    queue = WRITER_QUEUES[engine]
    seen: list[int] = []
    with Session(engine) as writer:
        begin_write(writer)
        writer.execute(text("INSERT INTO item (writer, n) VALUES (9, 9)"))

        def read():
            with Session(engine) as reader:
                seen.append(reader.execute(text("SELECT count(*) FROM item")).scalar_one())

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive() and queue.lock.locked()
        writer.commit()
    assert seen == [1]  # the reader saw the committed state, not the open write


def test_concurrent_writers_all_land_once(engine):
    threads, per_thread = 8, 25
    errors: list[BaseException] = []

    def run(writer: int) -> None:
        try:
            for n in range(per_thread):
                _write(engine, writer, n, fail=n % 5 == 4)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT writer, n FROM item ORDER BY writer, n")).all()
    expected = [(w, n) for w in range(threads) for n in range(per_thread) if n % 5 != 4]
    assert [tuple(r) for r in rows] == expected
    assert not WRITER_QUEUES[engine].lock.locked()


# -- writers of several processes (recovery serve --workers 2 on SQLite; the command line beside the server) --


def _writer_process(url: str, writer: int, count: int, started, errors) -> None:
    """A process of its own: `count` writes, each its own transaction, as a worker's requests would make, with
    SQLite's busy handler off: a writer that found SQLite's lock taken would fail at once ("database is
    locked"), so every write that lands waited in the queue, never in SQLite."""
    from sqlalchemy import event

    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _no_busy_handler(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    started.wait(30)
    try:
        for n in range(count):
            _write(engine, writer, n)
    except Exception as exc:  # noqa: BLE001 - reported to the test
        errors.put(f"{writer}: {exc!r}")
    finally:
        engine.dispose()


def test_writers_of_several_processes_queue_on_the_lock_file(engine, tmp_path):
    """Four processes write at once: every write lands and none is refused as locked, with SQLite's busy handler
    off (the file lock beside the database is where they queue)."""
    import multiprocessing

    url = str(engine.url)
    context = multiprocessing.get_context("spawn")
    started, errors = context.Event(), context.Queue()
    workers = [context.Process(target=_writer_process, args=(url, w, 150, started, errors)) for w in range(4)]
    for process in workers:
        process.start()
    started.set()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    assert errors.empty(), errors.get()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT writer, n FROM item")).all()
    assert sorted(rows) == [(w, n) for w in range(4) for n in range(150)]
    assert (tmp_path / "queue.sqlite3-writer").exists()


def _hold_the_lock(url: str, holding) -> None:
    engine = make_engine(url)
    session = Session(engine)
    begin_write(session)
    session.execute(text("INSERT INTO item (writer, n) VALUES (9, 9)"))
    holding.set()
    threading.Event().wait(600)  # until killed, in the middle of its transaction


def test_a_writer_process_that_dies_holding_the_lock_lets_the_others_go_on(engine):
    """Killed in the middle of a transaction (a worker gunicorn gives up on): the kernel drops its file lock and
    SQLite its write lock with the process; what it wrote is not kept, the next writer goes on at once."""
    import multiprocessing
    import time

    context = multiprocessing.get_context("spawn")
    holding = context.Event()
    holder = context.Process(target=_hold_the_lock, args=(str(engine.url), holding))
    holder.start()
    assert holding.wait(60)
    done = threading.Event()
    writer = threading.Thread(target=lambda: (_write(engine, 1, 1), done.set()))
    writer.start()
    assert not done.wait(0.5)  # it waits for the other process's transaction
    began = time.monotonic()
    holder.kill()
    holder.join(30)
    assert done.wait(10)
    assert time.monotonic() - began < 5  # woken by the kernel, not by SQLite's 30 s busy timeout
    writer.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT writer FROM item")).scalars().all() == [1]
