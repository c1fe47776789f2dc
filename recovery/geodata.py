"""The zone's own geodata (sub-districts, 4th ring, roads, rivers) and the spatial joins made against it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from recovery.errors import ConfigError
from recovery.vocab import SUBDISTRICT_ORDER

CRS = "EPSG:4326"


@dataclass(frozen=True)
class Subdistrict:
    key: str
    zh: str
    en: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class Geodata:
    """Boundaries loaded from a geodata folder; every layer is EPSG:4326."""

    folder: Path
    zone: BaseGeometry
    subdistricts: tuple[Subdistrict, ...]
    ring4_inside: BaseGeometry

    def subdistrict(self, key: str) -> Subdistrict:
        for sub in self.subdistricts:
            if sub.key == key:
                return sub
        raise KeyError(key)

    def subdistrict_of(self, geom: BaseGeometry) -> str | None:
        """The sub-district a site lies in: the one that holds its representative point."""
        return self.subdistricts_of([geom])[0]

    def subdistricts_of(self, geoms: list[BaseGeometry]) -> list[str | None]:
        """Spatial join of many geometries with the sub-districts (GeoPandas, indexed)."""
        if not geoms:
            return []
        points = gpd.GeoDataFrame(geometry=[g.representative_point() for g in geoms], crs=CRS)
        polygons = gpd.GeoDataFrame(
            {"key": [s.key for s in self.subdistricts]},
            geometry=[s.geometry for s in self.subdistricts],
            crs=CRS,
        )
        joined = gpd.sjoin(points, polygons, how="left", predicate="intersects")
        # a point exactly on a shared edge matches two sub-districts; keep the first, deterministically
        joined = joined[~joined.index.duplicated(keep="first")].sort_index()
        return [None if isinstance(k, float) else k for k in joined["key"].tolist()]

    def inside_ring4(self, geom: BaseGeometry) -> bool:
        return bool(self.ring4_inside.intersects(geom.representative_point()))

    def inside_ring4_many(self, geoms: list[BaseGeometry]) -> list[bool]:
        if not geoms:
            return []
        points = shapely.points([g.representative_point().coords[0] for g in geoms])
        return [bool(v) for v in np.asarray(shapely.intersects(self.ring4_inside, points))]


def _features(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"geodata file missing: {path}") from None
    crs = (data.get("crs") or {}).get("properties", {}).get("name", "")
    if crs and "4326" not in crs and "CRS84" not in crs:
        raise ConfigError(f"{path.name}: expected EPSG:4326, found {crs}")
    return data["features"]


@lru_cache(maxsize=4)
def load_geodata(folder: str | Path) -> Geodata:
    """Read the geodata folder once per process (it is small and never changes while running)."""
    folder = Path(folder)
    zone = shapely.union_all([shape(f["geometry"]) for f in _features(folder / "zone.geojson")])
    subdistricts = tuple(
        Subdistrict(
            f["properties"]["key"],
            f["properties"]["name_zh"],
            f["properties"]["name_en"],
            shape(f["geometry"]),
        )
        for f in _features(folder / "subdistricts.geojson")
    )
    ring = [f for f in _features(folder / "ring4.geojson") if f["properties"].get("role") == "inside"]
    if not ring:
        raise ConfigError("ring4.geojson has no feature with role 'inside'")
    subs = tuple(
        sorted(
            subdistricts, key=lambda s: SUBDISTRICT_ORDER.index(s.key) if s.key in SUBDISTRICT_ORDER else 99
        )
    )
    inside = shape(ring[0]["geometry"])
    shapely.prepare(inside)
    return Geodata(folder, zone, subs, inside)


__all__ = ["SUBDISTRICT_ORDER"]  # the sub-districts' order is the vocabulary's (recovery.vocab)
