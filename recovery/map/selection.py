"""A selection drawn on the map (a rectangle or a polygon): the sites inside it, under the map's filters and date.

A site is inside when the centre of its bounding box is inside the shape or on its edge — the same point that
places it in a cluster, so a shape drawn around clusters selects exactly the sites they count.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon
from sqlalchemy.orm import Session

from recovery import jsondoc
from recovery.coords import to_wgs84
from recovery.errors import GeometryError, ValidationError
from recovery.geometry import parse_geometry, validate_geometry
from recovery.map.points import PointTable, text_matches
from recovery.map.query import select_rows
from recovery.query.sites import SiteQuery

#: a hand-drawn shape has a few dozen vertices; more is not a drawing
MAX_VERTICES = 1000


def parse_polygon(raw: Any, crs: str = "wgs84") -> Polygon:
    """A GeoJSON Polygon (an object, or its JSON text), in the map's display `crs`, as a WGS-84 polygon.

    Parameters
    ----------
    raw : dict or str
        ``{"type": "Polygon", "coordinates": [[[lon, lat], ...]]}``, longitude first.
    crs : {"wgs84", "gcj02"}
        The system the map is displayed in (GCJ-02 with an AutoNavi base map); the result is WGS-84.

    Returns
    -------
    shapely.geometry.Polygon
        The valid polygon, checked for range and finiteness.
    """
    if isinstance(raw, str):
        try:
            raw = jsondoc.loads(raw)
        except ValidationError:
            raw = None
    if not isinstance(raw, Mapping) or raw.get("type") != "Polygon":
        raise GeometryError("The selection must be a GeoJSON Polygon.")
    geom = parse_geometry(raw)
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise GeometryError("The selection has more than %(limit)s vertices.", limit=MAX_VERTICES)
    geom = validate_geometry(geom)
    if crs != "wgs84":
        geom = shapely.transform(
            geom, lambda xy: np.array([to_wgs84(float(x), float(y), crs) for x, y in xy]).reshape(-1, 2)
        )
    return geom


def inside(table: PointTable, polygon: Polygon) -> np.ndarray:
    """Boolean mask of the rows whose position is inside `polygon` or on its edge."""
    minx, miny, maxx, maxy = polygon.bounds
    mask = np.zeros(len(table), dtype=bool)
    near = np.flatnonzero((table.x >= minx) & (table.x <= maxx) & (table.y >= miny) & (table.y <= maxy))
    if near.size:
        shapely.prepare(polygon)
        mask[near] = shapely.intersects_xy(polygon, table.x[near], table.y[near])
    return mask


def select_within(
    session: Session, table: PointTable, flt: SiteQuery, at: datetime, polygon: Polygon | None
) -> np.ndarray:
    """The rows the map's filter keeps (at `at`), and, with a polygon, only those inside it."""
    rows = select_rows(table, flt, at, text_matches(session, flt.text) if flt.text else None)
    if polygon is not None:
        rows &= inside(table, polygon)
    return rows
