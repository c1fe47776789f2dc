"""Geometry helpers for the seed generator: read geodata/, sample positions, round coordinates."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import shapely
from shapely.geometry import LineString, Point, Polygon, mapping, shape
from shapely.geometry.polygon import orient
from shapely.ops import substring

#: metres per degree at the zone's latitude (about 34.83 N)
M_PER_DEG_LON = 111320.0 * math.cos(math.radians(34.83))
M_PER_DEG_LAT = 110950.0


@dataclass
class Road:
    key: str
    zh: str
    cls: str
    line: LineString
    ns: bool  # runs north-south


@dataclass
class Geo:
    zone: Polygon
    inner: Polygon  # the zone shrunk by ~40 m: sampling stays strictly inside after rounding
    subs: list[tuple[str, str, Polygon]]
    ring_inside: Polygon
    roads: list[Road]
    rivers: dict[str, tuple[str, LineString]]
    parks: list[tuple[str, str, Polygon]]

    def sub_of(self, x: float, y: float) -> str:
        for key, _zh, poly in self.subs:
            if shapely.intersects_xy(poly, x, y):
                return key
        raise ValueError(f"point {x},{y} outside every sub-district")

    def sub_zh(self, key: str) -> str:
        for k, zh, _ in self.subs:
            if k == key:
                return zh
        raise KeyError(key)

    def inside(self, geom) -> bool:
        """True when the geometry, rounded to 6 decimals, lies strictly inside the zone."""
        return bool(self.zone.contains(shape(round_geom(geom))))

    def road(self, key: str) -> Road:
        return next(r for r in self.roads if r.key == key)


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def load_geo(geodata_dir: Path) -> Geo:
    geodata_dir = Path(geodata_dir)
    zone = shape(_features(geodata_dir / "zone.geojson")[0]["geometry"])
    subs = [
        (f["properties"]["key"], f["properties"]["name_zh"], shape(f["geometry"]))
        for f in _features(geodata_dir / "subdistricts.geojson")
    ]
    ring = next(
        shape(f["geometry"])
        for f in _features(geodata_dir / "ring4.geojson")
        if f["properties"].get("role") == "inside"
    )
    roads = []
    for f in _features(geodata_dir / "roads.geojson"):
        line = shape(f["geometry"])
        x0, y0, x1, y1 = line.bounds
        ns = (y1 - y0) * M_PER_DEG_LAT > (x1 - x0) * M_PER_DEG_LON
        p = f["properties"]
        roads.append(Road(p["key"], p["name_zh"], p["road_class"], line, ns))
    rivers = {
        f["properties"]["key"]: (f["properties"]["name_zh"], shape(f["geometry"]))
        for f in _features(geodata_dir / "rivers.geojson")
    }
    parks = [
        (f["properties"]["key"], f["properties"]["name_zh"], shape(f["geometry"]))
        for f in _features(geodata_dir / "parks.geojson")
    ]
    for g in [zone, ring, *(s[2] for s in subs), *(p[2] for p in parks)]:
        shapely.prepare(g)
    inner = zone.buffer(-40 / M_PER_DEG_LAT)
    shapely.prepare(inner)
    return Geo(zone, inner, subs, ring, roads, rivers, parks)


def r6(v: float) -> float:
    return round(v, 6)


def round_geom(geom) -> dict:
    """GeoJSON geometry dict with coordinates rounded to 6 decimals (polygons counter-clockwise)."""
    if geom.geom_type == "Polygon":
        geom = orient(geom, sign=1.0)
    m = mapping(geom)

    def rnd(c):
        if isinstance(c[0], (int, float)):
            return [r6(c[0]), r6(c[1])]
        return [rnd(x) for x in c]

    return {"type": m["type"], "coordinates": rnd(m["coordinates"])}


def random_point(rng, poly, tries: int = 10000) -> tuple[float, float]:
    x0, y0, x1, y1 = poly.bounds
    for _ in range(tries):
        x = r6(rng.uniform(x0, x1))
        y = r6(rng.uniform(y0, y1))
        if shapely.contains_xy(poly, x, y):
            return x, y
    raise RuntimeError("could not sample a point")


def offset(x: float, y: float, dx_m: float, dy_m: float) -> tuple[float, float]:
    return x + dx_m / M_PER_DEG_LON, y + dy_m / M_PER_DEG_LAT


def along(line: LineString, frac: float, side_m: float = 0.0) -> tuple[float, float]:
    """The point at `frac` of the line, moved `side_m` metres to its left (negative: right)."""
    d = frac * line.length
    p = line.interpolate(d)
    q = (
        line.interpolate(min(line.length, d + 1e-5))
        if d + 1e-5 <= line.length
        else line.interpolate(d - 1e-5)
    )
    dx, dy = (q.x - p.x) * M_PER_DEG_LON, (q.y - p.y) * M_PER_DEG_LAT
    if d + 1e-5 > line.length:
        dx, dy = -dx, -dy
    n = math.hypot(dx, dy) or 1.0
    return offset(p.x, p.y, -dy / n * side_m, dx / n * side_m)


def piece(line: LineString, start_frac: float, length_m: float, side_m: float = 0.0) -> LineString:
    """A piece of `line` about `length_m` long starting at `start_frac`, moved `side_m` metres sideways."""
    deg = length_m / ((M_PER_DEG_LON + M_PER_DEG_LAT) / 2)
    d0 = start_frac * line.length
    seg = substring(line, d0, min(line.length, d0 + deg))
    if side_m:
        seg = seg.offset_curve(side_m / ((M_PER_DEG_LON + M_PER_DEG_LAT) / 2))
    return seg


def rect(x: float, y: float, w_m: float, h_m: float, angle_deg: float = 0.0) -> Polygon:
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    pts = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        u, v = sx * w_m / 2, sy * h_m / 2
        pts.append(offset(x, y, u * ca - v * sa, u * sa + v * ca))
    return Polygon([(r6(px), r6(py)) for px, py in pts])


def length_m(line: LineString) -> float:
    total = 0.0
    cs = list(line.coords)
    for (x0, y0), (x1, y1) in zip(cs, cs[1:], strict=False):
        total += math.hypot((x1 - x0) * M_PER_DEG_LON, (y1 - y0) * M_PER_DEG_LAT)
    return total


def nearest_cross(geo: Geo, road: Road, x: float, y: float) -> tuple[Road, float]:
    """The nearest road of the other orientation, and its distance in metres."""
    best, dist = None, 1e18
    p = Point(x, y)
    for r in geo.roads:
        if r.ns == road.ns or r.key == road.key:
            continue
        d = r.line.distance(p) * (M_PER_DEG_LON + M_PER_DEG_LAT) / 2
        if d < dist:
            best, dist = r, d
    return best, dist
