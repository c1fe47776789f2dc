"""Geometry on the way in: parse GeoJSON or WKT, refuse what is invalid, and measure in a projected CRS."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely import wkt as shapely_wkt
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from recovery.errors import GeometryError
from recovery.kinds import SiteKind

#: CGCS2000 / 3-degree Gauss-Kruger CM 114E: the local projected CRS in which lengths and areas are measured.
METRIC_CRS = "EPSG:4547"


def parse_geometry(raw: Any) -> BaseGeometry:
    """Parse a GeoJSON geometry (dict) or WKT string into a shapely geometry, refusing anything malformed.

    Parameters
    ----------
    raw : dict or str
        A GeoJSON geometry object with ``type`` and ``coordinates``, or WKT text.

    Returns
    -------
    shapely.geometry.base.BaseGeometry
        The geometry, in longitude/latitude order, not yet validated (see `validate_geometry`).
    """
    try:
        if isinstance(raw, str):
            return shapely_wkt.loads(raw)
        if isinstance(raw, Mapping):
            if "type" not in raw or "coordinates" not in raw:
                raise GeometryError("A geometry needs a type and coordinates.")
            _check_numbers(raw["coordinates"])
            _check_nesting(raw["type"], raw["coordinates"])
            return shape(raw)
    except GeometryError:
        raise
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, shapely.errors.ShapelyError) as exc:
        raise GeometryError("The geometry could not be read: %(reason)s.", reason=str(exc)[:200]) from None
    raise GeometryError("A geometry must be a GeoJSON object or WKT text.")


def _check_numbers(coordinates: Any) -> None:
    """Refuse strings, booleans and nested garbage before shapely coerces them silently."""
    stack = [coordinates]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, bool) or not isinstance(item, int | float):
            raise GeometryError("Coordinates must be numbers.")


#: how deeply each GeoJSON type nests its positions (a Point's coordinates are one position)
_NESTING = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "Polygon": 2,
    "MultiLineString": 2,
    "MultiPolygon": 3,
}


def _check_nesting(geom_type: Any, coordinates: Any) -> None:
    """Refuse positions nested deeper or shallower than the type says (shapely silently squeezes a Point)."""
    depth = _NESTING.get(geom_type)
    if depth is None:
        return  # an unknown type: shapely refuses it with its own message
    level = [coordinates]
    for _ in range(depth):
        level = [item for items in level for item in items]
    if any(isinstance(pos, list | tuple) and pos and isinstance(pos[0], list | tuple) for pos in level):
        raise GeometryError("The coordinates are not nested as a %(type)s needs.", type=geom_type)


def validate_geometry(geom: BaseGeometry, kind: SiteKind | None = None) -> BaseGeometry:
    """Refuse empty, invalid, non-finite or out-of-range geometries, and types the kind does not allow.

    Parameters
    ----------
    geom : BaseGeometry
        A geometry in EPSG:4326, longitude first.
    kind : SiteKind, optional
        When given, the geometry type must be one of ``kind.geometry_types``.

    Returns
    -------
    BaseGeometry
        The same geometry, checked.
    """
    if geom is None or geom.is_empty:
        raise GeometryError("The geometry is empty.")
    coords = shapely.get_coordinates(geom, include_z=False)
    if not all(math.isfinite(v) for v in coords.flat):
        raise GeometryError("Coordinates must be finite numbers (no NaN or infinity).")
    lon, lat = coords[:, 0], coords[:, 1]
    if lon.min() < -180 or lon.max() > 180 or lat.min() < -90 or lat.max() > 90:
        raise GeometryError(
            "Coordinates are out of range: longitude must be within [-180, 180] and latitude within [-90, 90]."
        )
    if not geom.is_valid:
        raise GeometryError("The geometry is invalid: %(reason)s.", reason=shapely.is_valid_reason(geom))
    if kind is not None and geom.geom_type not in kind.geometry_types:
        raise GeometryError(
            "A %(kind)s must be a %(allowed)s, not a %(given)s.",
            kind=kind.key,
            allowed=" or ".join(kind.geometry_types),
            given=geom.geom_type,
        )
    if geom.has_z:
        geom = shapely.force_2d(geom)
    return geom


@lru_cache(maxsize=1)
def _to_metric() -> Transformer:
    return Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


def to_metric(geom: BaseGeometry) -> BaseGeometry:
    """The geometry in the local projected CRS (EPSG:4547), where lengths and areas are in metres."""
    transformer = _to_metric()
    return shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def length_m(geom: BaseGeometry) -> float:
    """Length in metres, measured in the local projected CRS (never in degrees)."""
    return to_metric(geom).length


def area_m2(geom: BaseGeometry) -> float:
    """Area in square metres, measured in the local projected CRS."""
    return to_metric(geom).area


def bbox_of(geom: BaseGeometry) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = geom.bounds
    return float(minx), float(miny), float(maxx), float(maxy)
