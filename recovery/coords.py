"""China's coordinate systems: positions in WGS-84, GCJ-02 or BD-09 converted to and from WGS-84 (EPSG:4326)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from pyproj import Geod

from recovery.errors import ValidationError

#: the coordinate systems a position may declare: browsers' geolocation (WGS-84), WeChat/AMap/Tencent
#: ("Mars" coordinates, GCJ-02) and Baidu (BD-09)
CRS_NAMES = ("wgs84", "gcj02", "bd09")

# GCJ-02 is defined on the Krasovsky 1940 ellipsoid.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
# The usual rough bounding box of China: outside it GCJ-02 equals WGS-84.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)
# Inverses are iterated until the forward transform of the estimate lands this close (degrees, ~0.1 mm).
_TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 30

Position = tuple[float, float]


def in_china(lon: float, lat: float) -> bool:
    """Whether a position lies in the rough bounding box of China, where GCJ-02 differs from WGS-84."""
    return _CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _wgs84_to_gcj02(lon: float, lat: float) -> Position:
    if not in_china(lon, lat):
        return lon, lat
    dlat = _offset_lat(lon - 105.0, lat - 35.0)
    dlon = _offset_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def _gcj02_to_bd09(lon: float, lat: float) -> Position:
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: float, lat: float) -> Position:
    """The standard closed-form inverse, off by up to about 0.2 m; `_invert` refines it."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def _invert(forward: Callable[[float, float], Position], lon: float, lat: float, start: Position) -> Position:
    """Solve forward(p) == (lon, lat) by fixed-point iteration; the offsets vary slowly, so a few steps do."""
    x, y = start
    for _ in range(_MAX_ITERATIONS):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        if abs(dx) < _TOLERANCE_DEG and abs(dy) < _TOLERANCE_DEG:
            break
        x, y = x - dx, y - dy
    return x, y


def _gcj02_to_wgs84(lon: float, lat: float) -> Position:
    return _invert(_wgs84_to_gcj02, lon, lat, (lon, lat))


def _bd09_to_gcj02(lon: float, lat: float) -> Position:
    return _invert(_gcj02_to_bd09, lon, lat, _bd09_to_gcj02_approx(lon, lat))


def _check_crs(crs: Any) -> str:
    name = crs.lower() if isinstance(crs, str) else None
    if name not in CRS_NAMES:
        raise ValidationError(
            "Unknown coordinate system %(crs)s: use wgs84, gcj02 or bd09.", crs=str(crs)[:40]
        )
    return name


def _check_numbers(lon: Any, lat: Any) -> Position:
    """Refuse booleans, strings and NaN/inf: JSON parsers and shapely would coerce them silently."""
    for value in (lon, lat):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError("Coordinates must be finite numbers.")
    return float(lon), float(lat)


def _check_range(lon: float, lat: float) -> None:
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise ValidationError("Longitude must be within [-180, 180] and latitude within [-90, 90].")


def to_wgs84(lon: float, lat: float, crs: str = "wgs84") -> Position:
    """Convert a position from the coordinate system it was given in to WGS-84.

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude in degrees, in `crs`.
    crs : {"wgs84", "gcj02", "bd09"}
        The system the position is in: WGS-84 (browsers), GCJ-02 (WeChat, AMap/高德, Tencent) or BD-09 (Baidu).

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in WGS-84 (EPSG:4326). GCJ-02 and BD-09 are inverted iteratively, to about 0.1 mm of
        the exact inverse of the forward transforms.

    Raises
    ------
    recovery.errors.ValidationError
        An unknown `crs`, a coordinate that is not a finite number, or one out of range.
    """
    name = _check_crs(crs)
    lon, lat = _check_numbers(lon, lat)
    _check_range(lon, lat)
    if name == "gcj02":
        return _gcj02_to_wgs84(lon, lat)
    if name == "bd09":
        return _gcj02_to_wgs84(*_bd09_to_gcj02(lon, lat))
    return lon, lat


def from_wgs84(lon: float, lat: float, crs: str) -> Position:
    """Convert a WGS-84 position to `crs` (the forward transforms).

    Parameters
    ----------
    lon, lat : float
        Longitude and latitude in degrees, WGS-84.
    crs : {"wgs84", "gcj02", "bd09"}
        The target system. Outside China's bounding box GCJ-02 equals WGS-84; BD-09 adds Baidu's offset
        everywhere.

    Returns
    -------
    tuple of float
        ``(lon, lat)`` in `crs`.

    Raises
    ------
    recovery.errors.ValidationError
        An unknown `crs`, a coordinate that is not a finite number, or one out of range.
    """
    name = _check_crs(crs)
    lon, lat = _check_numbers(lon, lat)
    _check_range(lon, lat)
    if name == "gcj02":
        return _wgs84_to_gcj02(lon, lat)
    if name == "bd09":
        return _gcj02_to_bd09(*_wgs84_to_gcj02(lon, lat))
    return lon, lat


#: Shift stored WGS-84 data for display on a base map in another system (AutoNavi tiles are GCJ-02);
#: the stored positions never change.
shift_for_display = from_wgs84


@lru_cache(maxsize=1)
def _geod() -> Geod:
    return Geod(ellps="WGS84")


def distance_to_bounds_km(lon: float, lat: float, bounds: tuple[float, float, float, float]) -> float:
    """Geodesic distance in km from a WGS-84 position to the nearest point of a lon/lat box (0 inside)."""
    minx, miny, maxx, maxy = bounds
    near_lon, near_lat = min(max(lon, minx), maxx), min(max(lat, miny), maxy)
    return _geod().inv(lon, lat, near_lon, near_lat)[2] / 1000.0


def _looks_swapped(
    lon: float, lat: float, name: str, bounds: tuple[float, float, float, float], km: float
) -> bool:
    """Whether (lat, lon) would be near the zone although (lon, lat) is not: the classic order mistake."""
    if not (-180.0 <= lat <= 180.0 and -90.0 <= lon <= 90.0):
        return False
    swapped = to_wgs84(lat, lon, name)
    return distance_to_bounds_km(*swapped, bounds) <= km


def parse_position(
    obj: Any,
    *,
    zone_bounds: tuple[float, float, float, float] | None = None,
    tolerance_km: float = 50,
) -> dict[str, Any]:
    """Validate a position posted as JSON and convert it to WGS-84.

    Parameters
    ----------
    obj : dict
        ``{"lon": number, "lat": number, "crs": "wgs84" | "gcj02" | "bd09", "accuracy": metres}``; ``crs``
        defaults to ``"wgs84"``, ``accuracy`` is optional. Numbers must be JSON numbers, not strings.
    zone_bounds : tuple of float, optional
        ``(minx, miny, maxx, maxy)`` of the zone in WGS-84. When given, a position farther than
        `tolerance_km` from it is refused, with a dedicated message when latitude and longitude look swapped.
    tolerance_km : float
        How far outside `zone_bounds` a position may lie (geodesic distance, km).

    Returns
    -------
    dict
        ``{"lon", "lat"}`` in WGS-84, ``"crs"`` as given, ``"raw": {"lon", "lat"}`` as given, and
        ``"accuracy"`` (float or None).

    Raises
    ------
    recovery.errors.ValidationError
        Anything malformed, out of range or, with `zone_bounds`, too far from the zone.
    """
    if not isinstance(obj, Mapping) or "lon" not in obj or "lat" not in obj:
        raise ValidationError("A position must be an object with lon and lat.")
    name = _check_crs(obj.get("crs", "wgs84"))
    lon, lat = _check_numbers(obj["lon"], obj["lat"])
    accuracy = obj.get("accuracy")
    if accuracy is not None:
        if isinstance(accuracy, bool) or not isinstance(accuracy, int | float) or not math.isfinite(accuracy):
            raise ValidationError("The accuracy must be a finite number of metres, zero or more.")
        if accuracy < 0:
            raise ValidationError("The accuracy must be a finite number of metres, zero or more.")
        accuracy = float(accuracy)
    in_range = -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0
    if zone_bounds is not None:
        # (lat, lon) of a point in Zhengzhou has a "latitude" of 113: test the swap before the range.
        far = not in_range or distance_to_bounds_km(*to_wgs84(lon, lat, name), zone_bounds) > tolerance_km
        if far and _looks_swapped(lon, lat, name, zone_bounds, tolerance_km):
            raise ValidationError(
                "Latitude and longitude look swapped: (%(lon)s, %(lat)s) is far from the zone.",
                lon=lon,
                lat=lat,
            )
    _check_range(lon, lat)
    wgs_lon, wgs_lat = to_wgs84(lon, lat, name)
    if zone_bounds is not None:
        km = distance_to_bounds_km(wgs_lon, wgs_lat, zone_bounds)
        if km > tolerance_km:
            raise ValidationError(
                "The position (%(lon)s, %(lat)s) is %(km)s km from the zone, farther than %(limit)s km.",
                lon=lon,
                lat=lat,
                km=round(km),
                limit=tolerance_km,
            )
    return {
        "lon": wgs_lon,
        "lat": wgs_lat,
        "crs": name,
        "raw": {"lon": lon, "lat": lat},
        "accuracy": accuracy,
    }
