"""Geometry on the way in: GeoJSON and WKT parsing, refusal of bad input, lengths and areas in metres."""

from __future__ import annotations

import math

import pytest
from pyproj import Geod
from shapely.geometry import LineString, Polygon

from recovery.errors import GeometryError, ValidationError
from recovery.geometry import bbox_of, length_m, parse_geometry, validate_geometry
from recovery.kinds import get_kind

GEOD = Geod(ellps="WGS84")
SQUARE = [[113.55, 34.80], [113.56, 34.80], [113.56, 34.81], [113.55, 34.81], [113.55, 34.80]]


def checked(raw, kind: str | None = None):
    return validate_geometry(parse_geometry(raw), get_kind(kind) if kind else None)


@pytest.mark.parametrize(
    ("raw", "geom_type", "first"),
    [
        ({"type": "Point", "coordinates": [113.55, 34.82]}, "Point", (113.55, 34.82)),
        ({"type": "Point", "coordinates": [113, 34]}, "Point", (113.0, 34.0)),
        ({"type": "LineString", "coordinates": [[113.5, 34.8], [113.51, 34.8]]}, "LineString", (113.5, 34.8)),
        ({"type": "Polygon", "coordinates": [SQUARE]}, "Polygon", (113.55, 34.80)),
        ("POINT (113.55 34.82)", "Point", (113.55, 34.82)),
        ("LINESTRING (113.5 34.8, 113.51 34.81)", "LineString", (113.5, 34.8)),
        ("POLYGON ((113.55 34.8, 113.56 34.8, 113.56 34.81, 113.55 34.8))", "Polygon", (113.55, 34.8)),
        (
            "MULTIPOLYGON (((113.55 34.8, 113.56 34.8, 113.56 34.81, 113.55 34.8)))",
            "MultiPolygon",
            (113.55, 34.8),
        ),
    ],
)
def test_parses_geojson_and_wkt_longitude_first(raw, geom_type, first):
    geom = checked(raw)
    assert geom.geom_type == geom_type
    if geom_type == "MultiPolygon":
        geom = geom.geoms[0]
    coords = geom.exterior.coords if geom_type.endswith("Polygon") else geom.coords
    assert coords[0] == pytest.approx(first)


def test_a_third_coordinate_is_dropped():
    geom = checked({"type": "Point", "coordinates": [113.55, 34.82, 96.0]})
    assert not geom.has_z
    assert (geom.x, geom.y) == (113.55, 34.82)


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "Point", "coordinates": []},
        "POINT EMPTY",
        "LINESTRING EMPTY",
        "GEOMETRYCOLLECTION EMPTY",
    ],
)
def test_empty_geometry_is_refused(raw):
    with pytest.raises(GeometryError, match="empty"):
        checked(raw)


@pytest.mark.parametrize(
    "raw",
    [
        # bow-tie: the ring crosses itself
        {
            "type": "Polygon",
            "coordinates": [[[113.5, 34.8], [113.51, 34.81], [113.51, 34.8], [113.5, 34.81], [113.5, 34.8]]],
        },
        "POLYGON ((113.5 34.8, 113.51 34.81, 113.51 34.8, 113.5 34.81, 113.5 34.8))",
    ],
)
def test_invalid_polygon_is_refused(raw):
    with pytest.raises(GeometryError, match="invalid"):
        checked(raw)


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "Point", "coordinates": [math.nan, 34.8]},
        {"type": "Point", "coordinates": [113.5, math.inf]},
        {"type": "LineString", "coordinates": [[113.5, 34.8], [-math.inf, 34.8]]},
        "POINT (nan nan)",
        "POINT (113.5 inf)",
    ],
)
def test_non_finite_coordinates_are_refused(raw):
    with pytest.raises(GeometryError):
        checked(raw)


@pytest.mark.parametrize(
    "coordinates",
    [["113.5", "34.8"], [113.5, "34.8"], [True, 34.8], [113.5, False], [113.5, None], {"x": 1}],
)
def test_non_numbers_as_coordinates_are_refused(coordinates):
    with pytest.raises(GeometryError):
        checked({"type": "Point", "coordinates": coordinates})


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "Point", "coordinates": [34.8, 113.5]},  # latitude and longitude swapped: 113.5 > 90
        {"type": "Point", "coordinates": [180.0001, 34.8]},
        {"type": "Point", "coordinates": [-181, 34.8]},
        {"type": "Point", "coordinates": [113.5, 90.5]},
        {"type": "Point", "coordinates": [113.5, -91]},
        {"type": "LineString", "coordinates": [[113.5, 34.8], [34.8, 113.5]]},
        "POINT (34.8 113.5)",
    ],
)
def test_out_of_range_coordinates_are_refused(raw):
    with pytest.raises(GeometryError, match="out of range"):
        checked(raw)


@pytest.mark.parametrize(
    "raw", [{"type": "Point", "coordinates": [180, 90]}, {"type": "Point", "coordinates": [-180, -90]}]
)
def test_range_limits_themselves_are_accepted(raw):
    assert checked(raw).geom_type == "Point"


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "Point"},
        {"coordinates": [113.5, 34.8]},
        {"type": "Point", "coordinates": [113.5]},
        {"type": "Blob", "coordinates": [113.5, 34.8]},
        {"type": "Polygon", "coordinates": [[[113.5, 34.8], [113.6, 34.8]]]},
        {"type": "LineString", "coordinates": [113.5, 34.8]},
        {"type": "Point", "coordinates": [[113.5, 34.8]]},  # shapely would squeeze this silently
        {"type": "MultiPoint", "coordinates": [[[113.5, 34.8]]]},
        {"type": "Polygon", "coordinates": [[SQUARE]]},
        {"type": "Point", "coordinates": [113.5, 34.8, 1.0, 2.0]},
        "POINT (113.5",
        "POINT 113.5 34.8",
        "not a geometry",
        "",
        42,
        None,
        [113.5, 34.8],
    ],
)
def test_malformed_input_is_refused(raw):
    with pytest.raises(GeometryError):
        checked(raw)


def test_geometry_error_is_a_validation_error():
    assert issubclass(GeometryError, ValidationError)
    assert GeometryError("x").http_status == 400


POINT = {"type": "Point", "coordinates": [113.55, 34.82]}
LINE = {"type": "LineString", "coordinates": [[113.55, 34.82], [113.56, 34.821]]}
POLYGON = {"type": "Polygon", "coordinates": [SQUARE]}
MULTI = {"type": "MultiPolygon", "coordinates": [[SQUARE]]}


@pytest.mark.parametrize(
    ("kind", "raw", "allowed"),
    [
        ("road_collapse", POINT, True),
        ("road_collapse", LINE, True),
        ("road_collapse", POLYGON, False),
        ("silt_site", POINT, True),
        ("silt_site", POLYGON, True),
        ("silt_site", LINE, False),
        ("municipal_facility", POINT, True),
        ("municipal_facility", LINE, False),
        ("river_hazard", LINE, True),
        ("river_hazard", POINT, False),
        ("disinfection_point", POINT, True),
        ("disinfection_point", POLYGON, False),
        ("enterprise", POINT, True),
        ("enterprise", MULTI, False),
        ("residential_community", POLYGON, True),
        ("residential_community", MULTI, True),
        ("residential_community", POINT, False),
    ],
)
def test_geometry_type_per_kind(kind, raw, allowed):
    if allowed:
        assert checked(raw, kind).geom_type == raw["type"]
    else:
        with pytest.raises(GeometryError, match=kind):
            checked(raw, kind)


def _east_west_km(lat: float = 34.8, lon: float = 113.5) -> LineString:
    dlon = 1000.0 / (111_320.0 * math.cos(math.radians(lat)))
    return LineString([(lon, lat), (lon + dlon, lat)])


def test_length_of_one_km_east_west_matches_the_geodesic():
    line = _east_west_km()
    (x0, y0), (x1, y1) = line.coords
    reference = GEOD.line_length([x0, x1], [y0, y1])
    assert 990 < reference < 1010  # the segment really is about a kilometre
    assert length_m(line) == pytest.approx(reference, rel=0.01)


def test_length_of_a_diagonal_river_segment_matches_the_geodesic():
    line = LineString([(113.48, 34.78), (113.52, 34.80), (113.60, 34.88)])
    xs, ys = zip(*line.coords, strict=True)
    assert length_m(line) == pytest.approx(GEOD.line_length(xs, ys), rel=0.01)


def test_length_is_not_in_degrees():
    assert length_m(_east_west_km()) > 100


@pytest.mark.parametrize("ring", [SQUARE, [[113.5, 34.8], [113.52, 34.8], [113.51, 34.83], [113.5, 34.8]]])
def test_area_matches_the_geodesic_area(ring):
    from recovery.geometry import area_m2

    polygon = Polygon(ring)
    reference, _ = GEOD.geometry_area_perimeter(polygon)
    assert abs(reference) > 1e5
    assert area_m2(polygon) == pytest.approx(abs(reference), rel=0.01)


def test_bbox_of():
    assert bbox_of(Polygon(SQUARE)) == pytest.approx((113.55, 34.80, 113.56, 34.81))
