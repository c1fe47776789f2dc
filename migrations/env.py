"""Alembic environment: runs on the connection that `recovery init-db` hands it."""

from alembic import context
from sqlmodel import SQLModel

import recovery.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import recovery.models_accounts  # noqa: F401
import recovery.reports.models  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
        return
    _run(connection)


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    """The R*Trees and their shadow tables (0001, 0005) and the span table are made by hand; autogenerate must not
    drop them."""
    return not (type_ == "table" and name and name.startswith(("site_rtree", "status_span")))


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `recovery init-db`")
run_migrations_online()
