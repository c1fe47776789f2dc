"""Column types that behave the same on SQLite and PostgreSQL: geometry and UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from geoalchemy2 import Geometry as PostGISGeometry
from geoalchemy2.elements import WKBElement
from geoalchemy2.shape import to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import JSON, DateTime, LargeBinary, TextClause, bindparam
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

SRID = 4326


class GeometryType(TypeDecorator):
    """A shapely geometry: PostGIS `geometry(Geometry, 4326)` on PostgreSQL, WKB bytes elsewhere."""

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        # GeoAlchemy2's DDL hooks probe this with no dialect at all; the GiST index is made by the migration
        if dialect is None:
            return LargeBinary()
        if dialect.name == "postgresql":
            return dialect.type_descriptor(
                PostGISGeometry(geometry_type="GEOMETRY", srid=SRID, spatial_index=False)
            )
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: BaseGeometry | None, dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return WKBElement(shapely.to_wkb(value), srid=SRID)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect) -> BaseGeometry | None:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            return to_shape(value)
        if isinstance(value, str):
            return shapely.from_wkb(bytes.fromhex(value))
        return shapely.from_wkb(bytes(value))


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware, whatever the database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: JSON documents: JSONB on PostgreSQL so they can be indexed and queried, JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def bind_instants(stmt: TextClause, **instants: datetime | None) -> TextClause:
    """Bind the instants given (None: that parameter is not in the statement) as UTC timestamps of a textual
    statement, stored as each database stores them (text in SQLAlchemy's format on SQLite)."""
    given = [
        bindparam(name, value, type_=UTCDateTime()) for name, value in instants.items() if value is not None
    ]
    return stmt.bindparams(*given)
