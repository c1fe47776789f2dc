"""Where imported rows lie: geometries from the file's columns, converted to WGS-84, checked, placed in the zone.

Every step works on a whole column at once (shapely and GeoPandas arrays), so that 100,000 rows cost a few
vectorized calls rather than 100,000 Python-level geometry operations; the errors come back by row index.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from recovery.errors import GeometryError, RecoveryError, ValidationError
from recovery.geodata import Geodata
from recovery.geometry import METRIC_CRS, to_metric
from recovery.interop import crs as crs_mod
from recovery.interop.mapping import ColumnMap
from recovery.interop.readers import Source

#: how far outside the zone's boundary an imported site may lie
NEAR_ZONE_M = 2000.0

Errors = dict[int, RecoveryError]


def geometries(source: Source, mapping: ColumnMap) -> tuple[np.ndarray, Errors]:
    """One geometry (or None) per row: the file's own, a WKT column, or longitude/latitude columns."""
    frame = source.frame
    errors: Errors = {}
    if isinstance(frame, gpd.GeoDataFrame) and "wkt" not in mapping.columns:
        return np.asarray(frame.geometry.values, dtype=object), errors
    if "wkt" in mapping.columns:
        text = frame[mapping.columns["wkt"]].astype(object)
        text = text.where(text.map(lambda v: isinstance(v, str) and bool(v.strip())), None)
        geoms = np.asarray(shapely.from_wkt(text.to_numpy(), on_invalid="ignore"), dtype=object)
        for i in np.flatnonzero(pd.isna(geoms) & text.notna().to_numpy()):
            errors[int(i)] = ValidationError(
                "The WKT could not be read: %(value)s.", value=str(text.iloc[i])[:60]
            )
        return geoms, errors
    if "lon" in mapping.columns and "lat" in mapping.columns:
        raw_lon, raw_lat = frame[mapping.columns["lon"]], frame[mapping.columns["lat"]]
        lon = pd.to_numeric(raw_lon.astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(raw_lat.astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
        # NaN written out ("nan") reads as a number, as float() would; only unreadable text is an error
        unreadable = (np.isnan(lon) & ~_says_nan(raw_lon)) | (np.isnan(lat) & ~_says_nan(raw_lat))
        geoms = np.asarray(shapely.points(lon, lat), dtype=object)
        geoms[unreadable] = None
        for i in np.flatnonzero(unreadable):
            errors[int(i)] = ValidationError(
                "Longitude and latitude must be numbers: %(lon)s, %(lat)s.",
                lon=str(raw_lon.iloc[i])[:20],
                lat=str(raw_lat.iloc[i])[:20],
            )
        return geoms, errors
    raise ValidationError(
        "The file has no geometry: it needs longitude and latitude columns (经度, 纬度) or a WKT column."
    )


def _says_nan(values: pd.Series) -> np.ndarray:
    return values.astype(str).str.strip().str.lower().isin(["nan", "-nan", "+nan"]).to_numpy()


def to_wgs84(geoms: np.ndarray, system) -> tuple[np.ndarray, Errors]:
    """The geometries in WGS-84; GCJ-02 and BD-09 are converted one geometry at a time (their formula is)."""
    errors: Errors = {}
    present = ~pd.isna(geoms)
    out = geoms.copy()
    if not isinstance(system, str):
        if present.any():
            out[present] = crs_mod.to_wgs84_geometries(geoms[present], system)
        return out, errors
    for i in np.flatnonzero(present):
        try:
            out[i] = crs_mod.to_wgs84_geometry(geoms[i], system)
        except RecoveryError as exc:
            out[i] = None
            errors[int(i)] = exc
    return out, errors


def check_geometries(geoms: np.ndarray) -> tuple[np.ndarray, Errors]:
    """What `recovery.geometry.validate_geometry` checks, except the kind's types, for every row at once.

    Parameters
    ----------
    geoms : numpy.ndarray
        Geometries (or None) in EPSG:4326, longitude first.

    Returns
    -------
    tuple of numpy.ndarray and dict
        The geometries, 2-D, with None where a check failed; the first error of each failed row by index.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    errors: Errors = {}
    present = ~pd.isna(geoms)
    if not present.any():
        return out, errors
    n = len(geoms)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    nonfinite = np.zeros(n, bool)
    outside = np.zeros(n, bool)
    np.logical_or.at(nonfinite, index, ~np.isfinite(coords).all(axis=1))
    with np.errstate(invalid="ignore"):
        off = (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90)
    np.logical_or.at(outside, index, off)
    swapped = np.zeros(n, bool)
    rows, first = np.unique(index, return_index=True)
    x, y = coords[first, 0], coords[first, 1]
    # the zone lies near 113.6°E 34.8°N: a first vertex near 34.8°E 113.6°N had its columns swapped
    swapped[rows] = (x > 30) & (x < 40) & (y > 110) & (y < 118)
    empty = present & shapely.is_empty(geoms)
    valid = np.ones(n, bool)
    checkable = present & ~empty & ~nonfinite
    valid[checkable] = shapely.is_valid(geoms[checkable])
    for i in np.flatnonzero(present & (swapped | empty | nonfinite | outside | ~valid)):
        errors[int(i)] = _geometry_error(geoms[i], swapped[i], empty[i], nonfinite[i], outside[i])
        out[i] = None
    with_z = present & shapely.has_z(geoms)
    with_z[list(errors)] = False
    if with_z.any():
        out[with_z] = shapely.force_2d(geoms[with_z])
    return out, errors


def _geometry_error(geom, swapped: bool, empty: bool, nonfinite: bool, outside: bool) -> RecoveryError:
    if swapped:
        return ValidationError("The coordinates look swapped: latitude is in the longitude column.")
    if empty:
        return GeometryError("The geometry is empty.")
    if nonfinite:
        return GeometryError("Coordinates must be finite numbers (no NaN or infinity).")
    if outside:
        return GeometryError(
            "Coordinates are out of range: longitude must be within [-180, 180] and latitude within [-90, 90]."
        )
    return GeometryError("The geometry is invalid: %(reason)s.", reason=shapely.is_valid_reason(geom))


def zone_distances(geoms: list, geodata: Geodata) -> np.ndarray:
    """Metres from each geometry to the zone (0 inside), measured in the projected CRS."""
    if not geoms:
        return np.zeros(0)
    metric = gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(METRIC_CRS)
    return shapely.distance(np.asarray(metric.values), to_metric(geodata.zone))


def outside_error(geom, distance: float) -> RecoveryError:
    x, y = geom.representative_point().coords[0]
    if 30 < x < 40 and 110 < y < 118:
        return ValidationError("The coordinates look swapped: latitude is in the longitude column.")
    return ValidationError(
        "The site lies %(km)s km outside the zone; at most 2 km is accepted.", km=f"{distance / 1000:.1f}"
    )
