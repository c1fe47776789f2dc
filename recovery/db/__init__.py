"""Database engines, sessions and schema management for SQLite and PostgreSQL/PostGIS."""

from recovery.db.engine import get_session, init_app, make_engine

__all__ = ["get_session", "init_app", "make_engine"]
