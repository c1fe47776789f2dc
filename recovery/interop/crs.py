"""Coordinate systems on import: the file's own CRS, EPSG codes through pyproj, and China's GCJ-02 and BD-09."""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from recovery.errors import ValidationError

CHINESE_SYSTEMS = ("gcj02", "bd09")
WGS84_NAMES = ("wgs84", "wgs-84", "epsg:4326", "4326", "crs84", "ogc:crs84")
WGS84 = CRS.from_epsg(4326)


def parse_crs(text: str | None) -> str | CRS | None:
    """`gcj02`, `bd09`, `wgs84`, `EPSG:4547`, `4547` or any pyproj definition; None for none given."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip().lower().replace("-", "").replace("_", "")
    if value in CHINESE_SYSTEMS:
        return value
    if value in {n.replace("-", "") for n in WGS84_NAMES}:
        return WGS84
    try:
        return CRS.from_user_input(int(value) if value.isascii() and value.isdigit() else str(text).strip())
    except CRSError:
        raise ValidationError("Unknown coordinate system %(crs)s.", crs=str(text)[:60]) from None


def _is_wgs84_like(crs: CRS) -> bool:
    # GeoJSON always says CRS84, and CGCS2000 (EPSG:4490) matches WGS-84 to well under a metre
    return crs.is_geographic and (crs.equals(WGS84, ignore_axis_order=True) or crs.to_epsg() in (4326, 4490))


def resolve(file_crs: CRS | None, given: str | CRS | None) -> str | CRS:
    """The system the file's coordinates are in: the file's own, or the one named on the command."""
    if given is None:
        return file_crs or WGS84
    if file_crs is None or _is_wgs84_like(file_crs):
        # a GCJ-02 file cannot declare itself (its GeoJSON says CRS84 like any other): the command wins
        return given
    if isinstance(given, CRS) and given.equals(file_crs, ignore_axis_order=True):
        return file_crs
    raise ValidationError(
        "The file declares %(file_crs)s but the command names %(given)s.",
        file_crs=file_crs.to_string(),
        given=given if isinstance(given, str) else given.to_string(),
    )


def to_wgs84_geometries(geoms: np.ndarray, source: str | CRS) -> np.ndarray:
    """Geometries in `source` converted to WGS-84 longitude/latitude."""
    if isinstance(source, CRS):
        if _is_wgs84_like(source):
            return geoms
        from pyproj import Transformer

        transformer = Transformer.from_crs(source, WGS84, always_xy=True)
        return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    raise ValueError("use to_wgs84_geometry for GCJ-02 and BD-09, one geometry at a time")


def to_wgs84_geometry(geom, source: str):
    """One geometry from GCJ-02 or BD-09 to WGS-84 (raises ValidationError for coordinates out of range)."""
    from recovery.coords import to_wgs84

    return shapely.transform(
        geom, lambda xy: np.array([to_wgs84(float(x), float(y), source) for x, y in xy]).reshape(-1, 2)
    )
