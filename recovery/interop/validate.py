"""Checking one imported row against its kind: values coerced from text, every problem listed, nothing stored.

The geometry arrives already checked for the whole file by `recovery.interop.placing.check_geometries`;
here only what depends on the row's kind (the allowed types) is checked."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from recovery.errors import GeometryError, RecoveryError, ValidationError
from recovery.interop.mapping import ColumnMap, kind_from_value, status_from_value, subdistrict_from_value
from recovery.kinds import Attribute, SiteKind
from recovery.ledger.record import clean_text
from recovery.terms import yes_no
from recovery.timeutil import parse_office_instant

SPACE = re.compile(r"\s")


@dataclass
class Row:
    """One row of the file on its way in: what it says, what it will become, and what is wrong with it."""

    number: int
    key: str | None = None
    kind: SiteKind | None = None
    name: str = ""
    address: str = ""
    geom: BaseGeometry | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    tracks: dict[str, str] = field(default_factory=dict)
    capacity_pct: float | None = None
    priority: int = 2
    deadline: datetime | None = None
    subdistrict_given: str | None = None
    outcome: str = "new"
    errors: list[RecoveryError] = field(default_factory=list)
    warnings: list[RecoveryError] = field(default_factory=list)
    site_id: int | None = None
    #: for a stored site: the descriptive fields the row changes (name, address, attributes, geometry)
    edits: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, exc: RecoveryError) -> None:
        self.errors.append(exc)


def blank(value: Any) -> bool:
    """Empty cell: None, NaN, NaT (pandas' missing date) or whitespace."""
    # called for every cell of the file: the common cases first
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    return value is pd.NaT


def coerce(attribute: Attribute, value: Any) -> Any:
    """Text from a spreadsheet to the attribute's type ("120" → 120, "是" → True); the kind checks the rest."""
    if attribute.type is bool:
        return yes_no(value)
    if attribute.type in (int, float) and isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return value
        return int(number) if attribute.type is int and number.is_integer() else number
    if attribute.type is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if attribute.type is str and not isinstance(value, str):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return value


def _text(record: dict, mapping: ColumnMap, name: str) -> Any:
    column = mapping.columns.get(name)
    if column is None:
        return None
    value = record.get(column)
    return None if blank(value) else value


def read_row(
    number: int, record: dict, geom: BaseGeometry | None, mapping: ColumnMap, kind: SiteKind | None
) -> Row:
    """Check everything about one row that needs neither the database nor the geodata.

    `geom` has passed `placing.check_geometries` (None when it failed); the row's key, when the file gives
    none, is set afterwards for all rows at once by `stable_keys`."""
    row = Row(number)
    raw_kind = _text(record, mapping, "kind")
    if raw_kind is not None:
        found = kind_from_value(raw_kind)
        if found is None:
            row.fail(ValidationError("Unknown site kind %(kind)s.", kind=str(raw_kind)[:40]))
        elif kind is not None and found.key != kind.key:
            row.fail(
                ValidationError("The row is a %(given)s, not a %(kind)s.", given=found.zh, kind=kind.key)
            )
        kind = kind or found
    if kind is None:
        row.fail(ValidationError("The site kind is missing: name it with --kind or a kind column."))
        return row
    row.kind = kind
    _read_key(row, record, mapping)
    try:
        row.name = clean_text(_str(_text(record, mapping, "name")), "name", 200, required=True)
    except RecoveryError as exc:
        row.fail(exc)
    try:
        row.address = clean_text(_str(_text(record, mapping, "address")), "address", 300)
    except RecoveryError as exc:
        row.fail(exc)
    _read_geometry(row, geom)
    _read_attributes(row, record, mapping)
    _read_status(row, record, mapping)
    _read_priority_deadline(row, record, mapping)
    given = _text(record, mapping, "subdistrict")
    if given is not None:
        row.subdistrict_given = subdistrict_from_value(given) or str(given)
    return row


def _str(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if value is None or isinstance(value, str) else str(value)


def _read_key(row: Row, record: dict, mapping: ColumnMap) -> None:
    raw = _str(_text(record, mapping, "key"))
    if raw is None:
        return
    key = raw.strip()
    if len(key) > 40 or SPACE.search(key):
        row.fail(
            ValidationError("The id %(key)s is not usable: at most 40 characters, no spaces.", key=key[:60])
        )
    else:
        row.key = key


def stable_key(kind: SiteKind, name: str, geom: BaseGeometry) -> str:
    """The key of a row without an id: the same kind, name and place (to about 10 cm) give the same key."""
    return _key(kind, name, shapely.to_wkt(shapely.set_precision(geom, 1e-6), rounding_precision=6))


def _key(kind: SiteKind, name: str, place: str) -> str:
    digest = hashlib.sha256(f"{kind.key}|{name}|{place}".encode()).hexdigest()[:12].upper()
    return f"{kind.prefix}-I{digest}"


def stable_keys(rows: list[Row]) -> None:
    """`stable_key` for every row that has no id but a name and a geometry, with one vectorized WKT pass."""
    keyless = [r for r in rows if r.key is None and r.geom is not None and r.name]
    if not keyless:
        return
    geoms = shapely.set_precision(np.array([r.geom for r in keyless], dtype=object), 1e-6)
    for row, place in zip(keyless, shapely.to_wkt(geoms, rounding_precision=6), strict=True):
        row.key = _key(row.kind, row.name, place)


def _read_geometry(row: Row, geom: BaseGeometry | None) -> None:
    kind = row.kind
    if geom is None:
        row.fail(ValidationError("The row has no geometry (or its coordinates could not be read)."))
        return
    geom_type = geom.geom_type
    # Shapefile and GeoPackage writers often promote a single part to a Multi type
    if geom_type.startswith("Multi") and geom_type not in kind.geometry_types:
        parts = shapely.get_parts(geom)
        if len(parts) == 1:
            geom, geom_type = parts[0], parts[0].geom_type
    if geom_type not in kind.geometry_types:
        row.fail(
            GeometryError(
                "A %(kind)s must be a %(allowed)s, not a %(given)s.",
                kind=kind.key,
                allowed=" or ".join(kind.geometry_types),
                given=geom_type,
            )
        )
        return
    row.geom = geom


def _read_attributes(row: Row, record: dict, mapping: ColumnMap) -> None:
    kind = row.kind
    raw = {}
    known = {a.key: a for a in kind.attributes if not a.derived}
    for key, column in mapping.attributes.items():
        if key in known and not blank(record.get(column)):
            raw[key] = coerce(known[key], record[column])
    try:
        row.attributes = kind.clean_attributes(raw)
    except RecoveryError as exc:
        row.fail(exc)


def _read_status(row: Row, record: dict, mapping: ColumnMap) -> None:
    kind = row.kind
    if kind.tracks:
        for track, column in mapping.tracks.items():
            value = record.get(column)
            if blank(value):
                continue
            status = status_from_value(kind, value, kind.track_statuses)
            if status is None:
                row.fail(
                    ValidationError(
                        "Unknown status %(status)s for %(kind)s.", status=str(value)[:40], kind=kind.key
                    )
                )
            else:
                row.tracks[track] = status
        return
    value = _text(record, mapping, "status")
    if value is not None:
        status = status_from_value(kind, value)
        if status is None:
            row.fail(
                ValidationError(
                    "Unknown status %(status)s for %(kind)s.", status=str(value)[:40], kind=kind.key
                )
            )
        row.status = status
    capacity = _text(record, mapping, "capacity_pct")
    if capacity is not None and "capacity_pct" in kind.measures:
        try:
            row.capacity_pct = float(str(capacity).replace("%", "").strip())
            if not 0 <= row.capacity_pct <= 100:
                raise ValueError
        except ValueError:
            row.fail(
                ValidationError(
                    "Measure %(measure)s must be between %(min)s and %(max)s.",
                    measure="capacity_pct",
                    min=0,
                    max=100,
                )
            )
    if row.status == "partly_restarted" and row.capacity_pct is None:
        row.fail(ValidationError("A partial restart must give the capacity restored (capacity_pct)."))


def _read_priority_deadline(row: Row, record: dict, mapping: ColumnMap) -> None:
    priority = _text(record, mapping, "priority")
    if priority is not None:
        try:
            value = float(str(priority).strip())
            if not value.is_integer() or not 1 <= value <= 3:
                raise ValueError
            row.priority = int(value)
        except ValueError:
            row.fail(ValidationError("Priority must be 1 (most urgent), 2 or 3."))
    deadline = _text(record, mapping, "deadline")
    if deadline is not None:
        try:
            row.deadline = parse_office_instant(deadline)
        except RecoveryError as exc:
            row.fail(exc)
