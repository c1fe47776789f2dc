"""The zone's geodata: five sub-districts tiling the zone, spatial joins, the 4th ring, and its provenance."""

from __future__ import annotations

import itertools
import json
import shutil

import pytest
import shapely
from shapely.geometry import LineString, Point, box

from recovery.errors import ConfigError
from recovery.geodata import SUBDISTRICT_ORDER, load_geodata
from recovery.settings import PROJECT_ROOT

GEODATA = PROJECT_ROOT / "geodata"
KEYS = ("shifo", "gouzhao", "shuangqiao", "fengyang", "wutong")
ZH = {"shifo": "石佛", "gouzhao": "沟赵", "shuangqiao": "双桥", "fengyang": "枫杨", "wutong": "梧桐"}
ZONE_BOX = box(113.45, 34.76, 113.62, 34.90)
GRID = 1e-6  # the coordinate precision of the geodata files (6 decimals)


def test_the_five_sub_districts_in_the_zone_order(geodata):
    assert tuple(s.key for s in geodata.subdistricts) == KEYS == SUBDISTRICT_ORDER
    for sub in geodata.subdistricts:
        assert sub.zh.startswith(ZH[sub.key]) and sub.zh.endswith("办事处")
        assert geodata.subdistrict(sub.key) is sub
    with pytest.raises(KeyError):
        geodata.subdistrict("zhongyuan")


def test_sub_districts_tile_the_zone(geodata):
    polygons = [s.geometry for s in geodata.subdistricts]
    assert all(p.is_valid and p.area > 0 for p in polygons)
    for a, b in itertools.combinations(polygons, 2):
        assert a.intersection(b).area < 1e-12  # they share edges, never overlap
    union = shapely.union_all(polygons)
    assert sum(p.area for p in polygons) == pytest.approx(union.area, abs=1e-12)
    # The files hold 6 decimals (a 1e-6 degree grid, ~0.1 m); where a sub-district edge meets the zone outline
    # the cut point is rounded, so union and zone may differ by slivers under one grid step, not more.
    assert shapely.hausdorff_distance(union.boundary, geodata.zone.boundary) < GRID
    assert geodata.zone.buffer(-GRID).difference(union).is_empty
    assert union.difference(geodata.zone.buffer(GRID)).is_empty
    assert union.area == pytest.approx(geodata.zone.area, rel=1e-6)
    assert union.symmetric_difference(geodata.zone).area < 1e-8  # ~100 m² in all, along a 50 km outline


def test_layers_are_lon_lat_within_the_zone_box(geodata):
    assert geodata.zone.is_valid
    assert ZONE_BOX.contains(geodata.zone)
    for sub in geodata.subdistricts:
        assert ZONE_BOX.contains(sub.geometry), sub.key
    for name in ("zone", "subdistricts", "ring4"):
        data = json.loads((GEODATA / f"{name}.geojson").read_text(encoding="utf-8"))
        crs = data.get("crs", {}).get("properties", {}).get("name", "CRS84")
        assert "CRS84" in crs or "4326" in crs


@pytest.mark.parametrize("key", KEYS)
def test_a_point_inside_a_sub_district_joins_to_it(geodata, key):
    inside = geodata.subdistrict(key).geometry.representative_point()
    assert geodata.subdistricts_of([inside]) == [key]
    assert geodata.subdistrict_of(inside) == key


def test_the_join_of_many_geometries_keeps_their_order(geodata):
    points = [geodata.subdistrict(k).geometry.representative_point() for k in reversed(KEYS)]
    far = [Point(116.40, 39.90), Point(113.50, 34.60), Point(34.82, 113.55)]
    assert geodata.subdistricts_of([*points, *far]) == [*reversed(KEYS), None, None, None]
    assert geodata.subdistricts_of([]) == []


def test_lines_and_polygons_join_by_their_representative_point(geodata):
    shifo = geodata.subdistrict("shifo").geometry
    p = shifo.representative_point()
    line = LineString([(p.x - 0.001, p.y), (p.x + 0.001, p.y)])
    square = p.buffer(0.0005, cap_style="square")
    assert shifo.contains(line) and shifo.contains(square)
    assert geodata.subdistricts_of([line, square]) == ["shifo", "shifo"]


@pytest.mark.parametrize(
    ("lon", "lat", "inside"),
    [
        (113.58, 34.82, True),  # east of 西四环 (~113.54 E), south of 北四环 (~34.868 N)
        (113.56, 34.85, True),
        (113.50, 34.82, False),  # west of 西四环
        (113.47, 34.88, False),
        (113.58, 34.885, False),  # north of 北四环
    ],
)
def test_inside_ring4(geodata, lon, lat, inside):
    assert geodata.inside_ring4(Point(lon, lat)) is inside
    assert geodata.inside_ring4_many([Point(lon, lat)]) == [inside]


def test_inside_ring4_many_agrees_with_one_by_one(geodata):
    geoms = [geodata.subdistrict(k).geometry.representative_point() for k in KEYS]
    geoms += [geodata.subdistrict(k).geometry for k in KEYS]
    assert geodata.inside_ring4_many(geoms) == [geodata.inside_ring4(g) for g in geoms]
    assert geodata.inside_ring4_many([]) == []


def test_metadata_says_the_data_are_approximations():
    meta = json.loads((GEODATA / "metadata.json").read_text(encoding="utf-8"))
    assert "approximate" in meta["title"]
    for name in ("zone.geojson", "subdistricts.geojson", "ring4.geojson", "roads.geojson", "rivers.geojson"):
        entry = meta["files"][name]
        assert entry["approximation"] is True and entry["official"] is False, name
        assert entry["crs"] == "EPSG:4326"
        assert "非官方" in entry["status"] and "NOT an official" in entry["status"]


def _copy(tmp_path):
    folder = tmp_path / "geodata"
    shutil.copytree(GEODATA, folder)
    return folder


def test_a_missing_layer_is_a_config_error(tmp_path):
    folder = _copy(tmp_path)
    (folder / "ring4.geojson").unlink()
    with pytest.raises(ConfigError, match="ring4.geojson"):
        load_geodata(folder)


def test_a_layer_in_another_crs_is_refused(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "subdistricts.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4547"}}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError, match="EPSG:4326"):
        load_geodata(folder)


def test_a_ring_without_its_inside_is_refused(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "ring4.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"] = [f for f in data["features"] if f["properties"].get("role") != "inside"]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ConfigError, match="inside"):
        load_geodata(folder)
