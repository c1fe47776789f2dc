"""Statements run straight on the driver, inside a SQLAlchemy connection's transaction.

SQLAlchemy's work around one statement (the execution context, the result, the events) costs about 50–70 µs of
Python, more than SQLite's own work for a small insert. The write path of a field update runs a handful of
statements under the database's write lock, where every microsecond is one that all other writers wait:
those few run here instead (`Direct`). A statement is compiled once per dialect and set of columns, by
SQLAlchemy, with the bind processors of its columns (times, JSON, booleans) applied to the values exactly as
SQLAlchemy would; the driver's cursor belongs to the connection, so the statement is part of its open
transaction, and the connection's `after_execute` listeners are told of it as of any other (the counters
of recovery.web.observability). Anything that needs a result other than a RETURNING row stays with SQLAlchemy.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.expression import Executable


class Direct:
    """One Core statement (insert, update, upsert; optionally with RETURNING) to run on the driver's cursor."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._forms: dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def _form(self, dialect, keys: tuple[str, ...]) -> tuple:
        """(SQL text, [(parameter name, its bind processor or None)] in the statement's order, positional?)."""
        found = self._forms.get((dialect.name, keys))
        if found is not None:
            return found
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))
        processors = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[compiled.bind_names.get(bind, name)] = processor
        missing = set(processors) | set(compiled.bind_names.values())
        missing -= set(keys)
        if missing:  # a column's default would be left out: SQLAlchemy fills those in, this does not
            raise ValueError(f"Direct statements take every value: missing {sorted(missing)}")
        # the values in the statement's order (or by name), each with its column's processor: every bind is a
        # value given (checked above), so SQLAlchemy's `construct_params` has nothing to add
        names = list(compiled.positiontup) if compiled.positional else list(compiled.bind_names.values())
        form = (compiled.string, [(name, processors.get(name)) for name in names], compiled.positional)
        with self._lock:
            self._forms[(dialect.name, keys)] = form
        return form

    @staticmethod
    def _arguments(form: tuple, params: dict[str, Any]):
        _, binds, positional = form
        values = [params[name] if processor is None else processor(params[name]) for name, processor in binds]
        return values if positional else dict(zip((name for name, _ in binds), values, strict=True))

    def execute(self, conn: Connection, params: dict[str, Any]) -> Sequence | None:
        """Run it with these values; the RETURNING row, if the statement has one (else None)."""
        form = self._form(conn.dialect, tuple(params))
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(form[0], self._arguments(form, params))
            row = cursor.fetchone() if cursor.description else None
        finally:
            cursor.close()
        self._tell(conn, params)
        return row

    def execute_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Run it once per row (the rows have the same keys); no RETURNING."""
        if not rows:
            return
        form = self._form(conn.dialect, tuple(rows[0]))
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.executemany(form[0], [self._arguments(form, row) for row in rows])
        finally:
            cursor.close()
        self._tell(conn, rows)

    def _tell(self, conn: Connection, params) -> None:
        if conn._has_events or conn.engine._has_events:
            multi = params if isinstance(params, list) else [params]
            conn.dispatch.after_execute(conn, self.statement, multi, {}, {}, None)
