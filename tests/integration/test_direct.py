"""`recovery.db.direct.Direct`: a statement run straight on the driver stores exactly what SQLAlchemy would, in
the connection's transaction, and the connection's listeners hear of it (issue 18: the update's statements)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from recovery.db.direct import Direct
from recovery.db.engine import make_engine
from recovery.models import Event

EVENT = Event.__table__


def _values(client_id: str) -> dict:
    """An event's columns with the values that need converting: an aware time in another zone, JSON with
    Chinese text and nesting, a float, None, an empty string."""
    return {
        "client_id": client_id,
        "body_hash": "0" * 64,
        "action": "note",
        "site_id": None,
        "work_item_id": None,
        "actor": "测试员 O'Brien",
        "track": None,
        "from_status": None,
        "to_status": None,
        "level": 37.5,
        "measures": {"silt_m3": 12.5, "garbage_t": 3},
        "note": "",
        "valid_at": datetime(2021, 7, 21, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8))),
        "recorded_at": datetime(2021, 7, 21, 1, 31, tzinfo=UTC),
        "position_lon": 113.59,
        "position_lat": None,
        "details": {"photos": ["a", "b"], "position": {"crs": "wgs84", "深": [1, 2]}},
        "user_id": None,
        "flag": None,
    }


def _row(session: Session, client_id: str) -> dict:
    row = session.execute(select(EVENT).where(EVENT.c.client_id == client_id)).mappings().one()
    return {k: v for k, v in row.items() if k != "id"}


def test_a_direct_insert_stores_what_sqlalchemy_stores(db_url):
    engine = make_engine(db_url)
    heard = []
    event.listen(engine, "after_execute", lambda conn, statement, *args: heard.append(statement))
    direct = Direct(insert(EVENT).returning(EVENT.c.id))
    try:
        with Session(engine) as session:
            conn = session.connection()
            conn.execute(insert(EVENT), _values("by-sqlalchemy"))
            heard.clear()
            new_id = direct.execute(conn, _values("direct"))[0]
            assert heard == [direct.statement]  # the counters of recovery.web.observability see it
            session.commit()
        with Session(engine) as session:
            assert _row(session, "direct") == {**_row(session, "by-sqlalchemy"), "client_id": "direct"}
            assert session.get(Event, new_id).client_id == "direct"
            assert _row(session, "direct")["valid_at"] == _values("x")["valid_at"]
    finally:
        engine.dispose()


def test_a_direct_statement_is_part_of_the_transaction(db_url):
    engine = make_engine(db_url)
    direct = Direct(insert(EVENT).returning(EVENT.c.id))
    try:
        with Session(engine) as session:
            direct.execute(session.connection(), _values("rolled-back"))
            session.rollback()
        with Session(engine) as session:
            assert (
                session.execute(select(EVENT.c.id).where(EVENT.c.client_id == "rolled-back")).first() is None
            )
    finally:
        engine.dispose()


def test_a_direct_statement_takes_every_value_it_would_otherwise_default(db_url):
    """SQLAlchemy fills in a column's Python default (event.note = ""); `Direct` does not, so it refuses a
    statement that would need one rather than store NULL."""
    engine = make_engine(db_url)
    values = _values("no-note")
    del values["note"]
    try:
        with Session(engine) as session, pytest.raises(ValueError, match="note"):
            Direct(insert(EVENT)).execute(session.connection(), values)
    finally:
        engine.dispose()
