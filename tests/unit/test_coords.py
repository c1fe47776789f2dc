"""China's coordinate systems: round trips, the forward formula checked at 50 digits, published reference pairs,
identity outside China, and refusal of bad input."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal, localcontext

import pytest
from pyproj import Geod

from recovery.coords import CRS_NAMES, from_wgs84, parse_position, shift_for_display, to_wgs84
from recovery.errors import ValidationError

GEOD = Geod(ellps="WGS84")
ZONE = (113.45, 34.76, 113.62, 34.90)  # High-tech Zone, WGS-84 (minx, miny, maxx, maxy)
SWAPPED = "Latitude and longitude look swapped: (%(lon)s, %(lat)s) is far from the zone."


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def _frange(start: float, stop: float, steps: int) -> list[float]:
    return [start + (stop - start) * i / steps for i in range(steps + 1)]


ZHENGZHOU_GRID = list(itertools.product(_frange(113.45, 113.62, 8), _frange(34.76, 34.90, 8)))
CHINA_GRID = list(itertools.product(range(74, 136, 4), range(19, 55, 3)))


# --- an independent evaluation of the published GCJ-02 formula with 50 significant digits -------------------
# Written from the formula as published (Krasovsky ellipsoid, offsets relative to (105 E, 35 N)), not from
# recovery/coords.py, so that a typo in a coefficient there shows up here.


def _d_pi() -> Decimal:
    """π by the series recipe of the decimal module's documentation."""
    with localcontext() as ctx:
        ctx.prec += 2
        three = Decimal(3)
        lasts, t, s, n, na, d, da = 0, three, 3, 1, 0, 0, 24
        while s != lasts:
            lasts = s
            n, na = n + na, na + 8
            d, da = d + da, da + 32
            t = (t * n) / d
            s += t
    return +s


def _reduce(x: Decimal) -> Decimal:
    """x modulo 2π, so that the series converge fast and without cancellation (arguments reach ~200 rad)."""
    return x % (2 * _d_pi())


def _d_sin(x: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec += 2
        x = _reduce(x)
        i, lasts, s, fact, num, sign = 1, 0, x, 1, x, 1
        while s != lasts:
            lasts = s
            i += 2
            fact *= i * (i - 1)
            num *= x * x
            sign *= -1
            s += num / fact * sign
    return +s


def _d_cos(x: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec += 2
        x = _reduce(x)
        i, lasts, s, fact, num, sign = 0, 0, Decimal(1), 1, Decimal(1), 1
        while s != lasts:
            lasts = s
            i += 2
            fact *= i * (i - 1)
            num *= x * x
            sign *= -1
            s += num / fact * sign
    return +s


def decimal_wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    with localcontext() as ctx:
        ctx.prec = 50
        pi = _d_pi()
        a = Decimal("6378245.0")
        ee = Decimal("0.00669342162296594323")
        x, y = Decimal(lon) - 105, Decimal(lat) - 35

        def s(v: Decimal) -> Decimal:
            return _d_sin(v * pi)

        two_thirds = Decimal(2) / 3
        dlat = -100 + 2 * x + 3 * y + Decimal("0.2") * y * y + Decimal("0.1") * x * y
        dlat += Decimal("0.2") * abs(x).sqrt()
        dlat += (20 * s(6 * x) + 20 * s(2 * x)) * two_thirds
        dlat += (20 * s(y) + 40 * s(y / 3)) * two_thirds
        dlat += (160 * s(y / 12) + 320 * s(y / 30)) * two_thirds
        dlon = 300 + x + 2 * y + Decimal("0.1") * x * x + Decimal("0.1") * x * y
        dlon += Decimal("0.1") * abs(x).sqrt()
        dlon += (20 * s(6 * x) + 20 * s(2 * x)) * two_thirds
        dlon += (20 * s(x) + 40 * s(x / 3)) * two_thirds
        dlon += (150 * s(x / 12) + 300 * s(x / 30)) * two_thirds
        radlat = Decimal(lat) / 180 * pi
        magic = 1 - ee * _d_sin(radlat) ** 2
        sqrtmagic = magic.sqrt()
        dlat = (dlat * 180) / ((a * (1 - ee)) / (magic * sqrtmagic) * pi)
        dlon = (dlon * 180) / (a / sqrtmagic * _d_cos(radlat) * pi)
        return float(Decimal(lon) + dlon), float(Decimal(lat) + dlat)


def test_decimal_helpers_are_right():
    assert float(_d_pi()) == math.pi
    assert float(_d_sin(Decimal("0.5"))) == pytest.approx(math.sin(0.5), abs=1e-15)
    assert float(_d_cos(Decimal("0.5"))) == pytest.approx(math.cos(0.5), abs=1e-15)
    assert float(_d_sin(Decimal("157.3"))) == pytest.approx(math.sin(157.3), abs=1e-13)
    assert float(_d_sin(Decimal("-40.1"))) == pytest.approx(math.sin(-40.1), abs=1e-13)


# --- forward transforms -------------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ZHENGZHOU_GRID[::7] + CHINA_GRID[::11])
def test_gcj02_forward_matches_the_published_formula_at_50_digits(point):
    got = from_wgs84(*point, "gcj02")
    expected = decimal_wgs84_to_gcj02(*point)
    assert got == pytest.approx(expected, abs=1e-9)


def test_gcj02_offset_near_zhengzhou_is_several_hundred_metres():
    offset = metres((113.55, 34.82), from_wgs84(113.55, 34.82, "gcj02"))
    assert 300 < offset < 800


def test_baidu_reference_tiananmen():
    # Tiananmen: WGS-84 (116.391275, 39.907501); Baidu shows it at about (116.4038, 39.9150), the centre of
    # Beijing in Baidu's own examples (116.404, 39.915).
    lon, lat = from_wgs84(116.391275, 39.907501, "bd09")
    assert lon == pytest.approx(116.4038, abs=1e-3)
    assert lat == pytest.approx(39.9150, abs=1e-3)


def test_baidu_reference_beijing_railway_station():
    # Published pair (Beijing railway station): GCJ-02 (116.42703, 39.90245), BD-09 (116.43351, 39.90851).
    gcj = (116.42703, 39.90245)
    bd = (116.43351, 39.90851)
    wgs = to_wgs84(*gcj, "gcj02")
    assert from_wgs84(*wgs, "bd09") == pytest.approx(bd, abs=2e-5)
    assert to_wgs84(*bd, "bd09") == pytest.approx(wgs, abs=2e-5)


@pytest.mark.parametrize("point", [(2.3522, 48.8566), (-74.006, 40.7128), (139.6917, 35.6895), (100.5, -5.0)])
def test_gcj02_is_wgs84_outside_china(point):
    assert from_wgs84(*point, "gcj02") == point
    assert to_wgs84(*point, "gcj02") == point


def test_wgs84_is_the_identity_and_shift_for_display_is_the_forward_transform():
    assert to_wgs84(113.55, 34.82) == (113.55, 34.82)
    assert from_wgs84(113.55, 34.82, "wgs84") == (113.55, 34.82)
    assert shift_for_display(113.55, 34.82, "gcj02") == from_wgs84(113.55, 34.82, "gcj02")
    assert set(CRS_NAMES) == {"wgs84", "gcj02", "bd09"}


# --- inverses -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
@pytest.mark.parametrize("grid", [ZHENGZHOU_GRID, CHINA_GRID], ids=["zhengzhou", "china"])
def test_round_trip_within_a_metre(crs, grid):
    worst = 0.0
    for point in grid:
        shifted = from_wgs84(*point, crs)
        back = to_wgs84(*shifted, crs)
        worst = max(worst, metres(point, back))
        # and the other way: the inverse lands where the forward transform hits the input again
        assert from_wgs84(*to_wgs84(*shifted, crs), crs) == pytest.approx(shifted, abs=1e-7)
    assert worst < 0.01  # well within 1 m (in practice about a millimetre or less)


def test_gcj02_inverse_is_not_just_the_offset_subtracted_once():
    # A one-step inverse is off by up to about a metre; the iterative one is not.
    g = from_wgs84(113.55, 34.82, "gcj02")
    assert metres((113.55, 34.82), to_wgs84(*g, "gcj02")) < 0.001


# --- bad input ----------------------------------------------------------------------------------------------

BAD_CALLS = [
    pytest.param((113.5, 34.8, "utm"), "Unknown coordinate system", id="unknown-crs"),
    pytest.param((113.5, 34.8, "EPSG:3857"), "Unknown coordinate system", id="epsg-code"),
    pytest.param((113.5, 34.8, None), "Unknown coordinate system", id="crs-none"),
    pytest.param((math.nan, 34.8, "wgs84"), "finite numbers", id="nan"),
    pytest.param((113.5, math.inf, "gcj02"), "finite numbers", id="inf"),
    pytest.param((True, 34.8, "wgs84"), "finite numbers", id="bool"),
    pytest.param(("113.5", 34.8, "wgs84"), "finite numbers", id="string"),
    pytest.param((113.5, None, "bd09"), "finite numbers", id="none"),
    pytest.param((181.0, 34.8, "wgs84"), "within [-180, 180]", id="lon-range"),
    pytest.param((113.5, -90.5, "gcj02"), "within [-180, 180]", id="lat-range"),
]


@pytest.mark.parametrize(("args", "fragment"), BAD_CALLS)
@pytest.mark.parametrize("function", [to_wgs84, from_wgs84])
def test_bad_input_is_refused(function, args, fragment):
    with pytest.raises(ValidationError, match=fragment.replace("[", r"\[")):
        function(*args)


# --- parse_position -----------------------------------------------------------------------------------------


def test_parse_position_converts_and_keeps_the_raw_values():
    gcj = from_wgs84(113.55, 34.82, "gcj02")
    parsed = parse_position({"lon": gcj[0], "lat": gcj[1], "crs": "gcj02", "accuracy": 12}, zone_bounds=ZONE)
    assert metres((parsed["lon"], parsed["lat"]), (113.55, 34.82)) < 0.01
    assert parsed["crs"] == "gcj02"
    assert parsed["raw"] == {"lon": gcj[0], "lat": gcj[1]}
    assert parsed["accuracy"] == 12.0


def test_parse_position_defaults_to_wgs84_without_accuracy():
    assert parse_position({"lon": 113.5, "lat": 34.8}) == {
        "lon": 113.5,
        "lat": 34.8,
        "crs": "wgs84",
        "raw": {"lon": 113.5, "lat": 34.8},
        "accuracy": None,
    }


@pytest.mark.parametrize("crs", CRS_NAMES)
def test_parse_position_detects_swapped_latitude_and_longitude(crs):
    lon, lat = from_wgs84(113.55, 34.82, crs)
    with pytest.raises(ValidationError) as caught:
        parse_position({"lon": lat, "lat": lon, "crs": crs}, zone_bounds=ZONE)
    assert caught.value.message == SWAPPED
    assert "look swapped" in str(caught.value)


def test_parse_position_refuses_a_position_far_from_the_zone():
    with pytest.raises(ValidationError, match="km from the zone") as caught:
        parse_position({"lon": 116.39, "lat": 39.9}, zone_bounds=ZONE)  # Beijing, ~620 km away
    assert caught.value.message != SWAPPED
    assert 550 < caught.value.params["km"] < 700


def test_parse_position_accepts_a_position_within_the_tolerance():
    # 0.3 degrees east of the zone: about 27 km
    assert parse_position({"lon": 113.92, "lat": 34.8}, zone_bounds=ZONE)["lon"] == 113.92
    with pytest.raises(ValidationError):
        parse_position({"lon": 113.92, "lat": 34.8}, zone_bounds=ZONE, tolerance_km=10)
    # without bounds nothing is refused for being far
    assert parse_position({"lon": 2.35, "lat": 48.86})["lat"] == 48.86


BAD_POSITIONS = [
    pytest.param([113.5, 34.8], "object with lon and lat", id="list"),
    pytest.param({"lon": 113.5}, "object with lon and lat", id="no-lat"),
    pytest.param({"lon": "113.5", "lat": 34.8}, "finite numbers", id="string"),
    pytest.param({"lon": 113.5, "lat": False}, "finite numbers", id="bool"),
    pytest.param({"lon": 113.5, "lat": math.nan}, "finite numbers", id="nan"),
    pytest.param({"lon": 113.5, "lat": 34.8, "crs": "wgs"}, "Unknown coordinate system", id="crs"),
    pytest.param({"lon": 113.5, "lat": 34.8, "crs": 4326}, "Unknown coordinate system", id="crs-number"),
    pytest.param({"lon": 113.5, "lat": 34.8, "accuracy": -1}, "accuracy", id="accuracy-negative"),
    pytest.param({"lon": 113.5, "lat": 34.8, "accuracy": "5"}, "accuracy", id="accuracy-string"),
    pytest.param({"lon": 113.5, "lat": 34.8, "accuracy": math.inf}, "accuracy", id="accuracy-inf"),
    pytest.param({"lon": 113.5, "lat": 34.8, "accuracy": True}, "accuracy", id="accuracy-bool"),
    pytest.param({"lon": 200.0, "lat": 34.8}, r"within \[-180, 180\]", id="range"),
]


@pytest.mark.parametrize(("obj", "fragment"), BAD_POSITIONS)
def test_parse_position_refuses_bad_input(obj, fragment):
    with pytest.raises(ValidationError, match=fragment):
        parse_position(obj)
