"""Build the approximate geodata of Zhengzhou High-tech Zone (郑州高新区) used by the seed data set.

Everything here is HAND-DRAWN from general knowledge of the area (no map data was copied); it is an
APPROXIMATION made for this data set, not an official boundary. Run it to regenerate the GeoJSON files
next to this script (deterministic, byte-identical output):

    python geodata/build.py            # write the files
    python geodata/build.py --check    # also print areas and consistency checks

All coordinates are WGS-84 longitude/latitude (EPSG:4326), rounded to 6 decimals.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import shapely
from shapely.geometry import LineString, MultiLineString, Polygon, mapping
from shapely.geometry.polygon import orient

HERE = Path(__file__).resolve().parent
GRID = 1e-6
DATE = "2021-08-04"
CRS_MEMBER = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}

# --- the zone outline (counter-clockwise, lon/lat) -------------------------------------------------------
ZONE = [
    (113.478, 34.772),
    (113.505, 34.770),
    (113.532, 34.774),
    (113.556, 34.771),
    (113.578, 34.776),
    (113.598, 34.781),
    (113.612, 34.792),
    (113.609, 34.812),
    (113.614, 34.830),
    (113.606, 34.848),
    (113.611, 34.866),
    (113.598, 34.884),
    (113.572, 34.893),
    (113.545, 34.889),
    (113.520, 34.895),
    (113.497, 34.888),
    (113.476, 34.879),
    (113.468, 34.858),
    (113.473, 34.836),
    (113.464, 34.815),
    (113.470, 34.794),
]

# --- sub-district cells: they tile a box much larger than the zone, sharing their vertices exactly ---------
_W = [
    (113.512, 34.70),
    (113.512, 34.79),
    (113.518, 34.805),
    (113.514, 34.83),
    (113.519, 34.86),
    (113.516, 34.95),
]
_S = [(113.518, 34.805), (113.54, 34.803), (113.57, 34.808), (113.70, 34.806)]
_N = [(113.519, 34.86), (113.545, 34.857), (113.57, 34.86), (113.70, 34.858)]
_M = [(113.57, 34.808), (113.563, 34.832), (113.57, 34.86)]
CELLS = {
    "gouzhao": [(113.40, 34.70), *_W, (113.40, 34.95)],
    "wutong": [_W[0], _W[1], *_S, (113.70, 34.70)],
    "shuangqiao": [_W[4], _W[5], (113.70, 34.95), *reversed(_N)],
    "shifo": [_W[2], _W[3], _W[4], *_N[1:3], _M[1], *reversed(_S[:3])],
    "fengyang": [_S[2], _S[3], _N[3], _N[2], _M[1]],
}
SUBDISTRICTS = [  # key, name_zh, name_en (the zone's own order)
    ("shifo", "石佛办事处", "Shifo"),
    ("gouzhao", "沟赵办事处", "Gouzhao"),
    ("shuangqiao", "双桥办事处", "Shuangqiao"),
    ("fengyang", "枫杨办事处", "Fengyang"),
    ("wutong", "梧桐办事处", "Wutong"),
]

# --- the 4th ring road: the area it encloses (only the part over the zone matters), and its path ---------
RING4 = [
    (113.540, 34.640),
    (113.660, 34.625),
    (113.780, 34.645),
    (113.805, 34.750),
    (113.790, 34.862),
    (113.700, 34.874),
    (113.620, 34.871),
    (113.575, 34.869),
    (113.541, 34.868),
    (113.538, 34.830),
    (113.540, 34.800),
    (113.537, 34.770),
    (113.539, 34.700),
]

# --- roads: key, name_zh, name_en, class, line (clipped to the zone; the longest piece is kept) -----------
ROADS = [
    (
        "kexue",
        "科学大道",
        "Kexue Avenue",
        "main",
        [(113.45, 34.821), (113.50, 34.822), (113.56, 34.823), (113.63, 34.822)],
    ),
    ("lianhua", "莲花街", "Lianhua Street", "main", [(113.46, 34.800), (113.53, 34.801), (113.63, 34.800)]),
    ("huagong", "化工路", "Huagong Road", "main", [(113.49, 34.785), (113.55, 34.786), (113.61, 34.787)]),
    (
        "zhengshang",
        "郑上路",
        "Zhengshang Road",
        "main",
        [(113.45, 34.797), (113.49, 34.789), (113.53, 34.780)],
    ),
    (
        "xisihuan",
        "西四环",
        "West 4th Ring Road",
        "main",
        [
            (113.539, 34.700),
            (113.537, 34.770),
            (113.540, 34.800),
            (113.538, 34.830),
            (113.541, 34.868),
            (113.542, 34.92),
        ],
    ),
    ("changchun", "长椿路", "Changchun Road", "main", [(113.565, 34.76), (113.566, 34.83), (113.565, 34.90)]),
    (
        "fengyang",
        "枫杨街",
        "Fengyang Street",
        "secondary",
        [(113.49, 34.838), (113.55, 34.839), (113.61, 34.838)],
    ),
    (
        "wutong",
        "梧桐街",
        "Wutong Street",
        "secondary",
        [(113.48, 34.792), (113.55, 34.793), (113.60, 34.793)],
    ),
    (
        "cuizhu",
        "翠竹街",
        "Cuizhu Street",
        "secondary",
        [(113.50, 34.830), (113.56, 34.830), (113.60, 34.831)],
    ),
    (
        "guohuai",
        "国槐街",
        "Guohuai Street",
        "secondary",
        [(113.47, 34.848), (113.54, 34.847), (113.60, 34.848)],
    ),
    (
        "yingchun",
        "迎春街",
        "Yingchun Street",
        "secondary",
        [(113.48, 34.856), (113.53, 34.856), (113.59, 34.857)],
    ),
    (
        "dongqing",
        "冬青街",
        "Dongqing Street",
        "secondary",
        [(113.47, 34.812), (113.53, 34.812), (113.605, 34.813)],
    ),
    (
        "hehuan",
        "合欢街",
        "Hehuan Street",
        "secondary",
        [(113.49, 34.872), (113.55, 34.871), (113.60, 34.872)],
    ),
    (
        "xuesong",
        "雪松路",
        "Xuesong Road",
        "secondary",
        [(113.530, 34.775), (113.531, 34.83), (113.530, 34.88)],
    ),
    (
        "hongsong",
        "红松路",
        "Hongsong Road",
        "secondary",
        [(113.505, 34.78), (113.506, 34.83), (113.505, 34.87)],
    ),
    (
        "yinping",
        "银屏路",
        "Yinping Road",
        "secondary",
        [(113.590, 34.782), (113.591, 34.83), (113.590, 34.875)],
    ),
    ("ruida", "瑞达路", "Ruida Road", "secondary", [(113.578, 34.78), (113.579, 34.84), (113.578, 34.865)]),
    ("shinan", "石楠路", "Shinan Road", "secondary", [(113.492, 34.775), (113.493, 34.83), (113.492, 34.86)]),
]

# --- rivers (not clipped: they flow through and beyond the zone) --------------------------------------
RIVERS = [
    (
        "jialu",
        "贾鲁河",
        "Jialu River",
        [
            (113.455, 34.858),
            (113.475, 34.862),
            (113.495, 34.868),
            (113.512, 34.866),
            (113.530, 34.872),
            (113.548, 34.875),
            (113.566, 34.874),
            (113.585, 34.879),
            (113.600, 34.878),
            (113.625, 34.884),
        ],
    ),
    (
        "suoxu",
        "索须河",
        "Suoxu River",
        [
            (113.455, 34.886),
            (113.480, 34.884),
            (113.500, 34.882),
            (113.520, 34.884),
            (113.540, 34.882),
            (113.556, 34.878),
            (113.566, 34.874),
        ],
    ),
    (
        "xushui",
        "须水河",
        "Xushui River",
        [
            (113.452, 34.792),
            (113.470, 34.800),
            (113.486, 34.807),
            (113.498, 34.816),
            (113.510, 34.826),
            (113.522, 34.838),
            (113.530, 34.850),
        ],
    ),
]

# --- industrial parks (inside the zone) --------------------------------------------------------------
PARKS = [
    (
        "univ_sci_park",
        "河南省国家大学科技园",
        "Henan National University Science Park",
        [(113.551, 34.814), (113.563, 34.815), (113.564, 34.826), (113.556, 34.828), (113.550, 34.824)],
    ),
    (
        "electronics_park",
        "郑州高新区电子电器产业园",
        "Zhengzhou High-tech Zone Electronics and Appliances Park",
        [(113.506, 34.789), (113.524, 34.788), (113.526, 34.799), (113.515, 34.803), (113.505, 34.799)],
    ),
    (
        "tianjianhu_iot",
        "天健湖智联网产业园",
        "Tianjian Lake Smart IoT Industrial Park",
        [(113.574, 34.833), (113.590, 34.832), (113.592, 34.845), (113.582, 34.847), (113.573, 34.842)],
    ),
    (
        "beidou_park",
        "郑州北斗产业园",
        "Zhengzhou BeiDou Industrial Park",
        [(113.530, 34.840), (113.544, 34.839), (113.545, 34.851), (113.537, 34.853), (113.529, 34.848)],
    ),
    (
        "jinsuo_park",
        "金梭园区",
        "Jinsuo Park",
        [(113.583, 34.795), (113.600, 34.794), (113.601, 34.807), (113.590, 34.809), (113.582, 34.804)],
    ),
]


def _round(obj):
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, (list, tuple)):
        return [_round(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    return obj


def _feature(props: dict, geom) -> dict:
    if geom.geom_type == "Polygon":
        geom = orient(geom, sign=1.0)
    return {"type": "Feature", "properties": props, "geometry": _round(mapping(geom))}


def _collection(name: str, features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "name": name, "crs": CRS_MEMBER, "features": features}


def _write(name: str, data) -> None:
    if data.get("type") == "FeatureCollection":  # one feature per line: compact but diff-friendly
        head = {k: v for k, v in data.items() if k != "features"}
        lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in data["features"]]
        text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":[\n'
        text += ",\n".join(lines) + "\n]}\n"
    else:
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    (HERE / name).write_text(text, encoding="utf-8")


def _longest(geom):
    if isinstance(geom, MultiLineString):
        return max(geom.geoms, key=lambda g: g.length)
    if geom.geom_type == "GeometryCollection":
        lines = [g for g in geom.geoms if g.geom_type == "LineString"]
        return max(lines, key=lambda g: g.length)
    return geom


def build() -> dict[str, object]:
    zone = shapely.set_precision(Polygon(ZONE), GRID)
    subs = []
    for key, zh, en in SUBDISTRICTS:
        part = shapely.intersection(zone, Polygon(CELLS[key]), grid_size=GRID)
        assert part.geom_type == "Polygon", (key, part.geom_type)
        subs.append(({"key": key, "name_zh": zh, "name_en": en}, part))
    ring_inside = shapely.set_precision(Polygon(RING4), GRID)
    ring_road = LineString([*RING4, RING4[0]])
    roads = []
    for key, zh, en, cls, coords in ROADS:
        line = _longest(shapely.intersection(LineString(coords), zone, grid_size=GRID))
        roads.append(({"key": key, "name_zh": zh, "name_en": en, "road_class": cls}, line))
    rivers = [({"key": k, "name_zh": zh, "name_en": en}, LineString(c)) for k, zh, en, c in RIVERS]
    parks = [({"key": k, "name_zh": zh, "name_en": en}, Polygon(c)) for k, zh, en, c in PARKS]

    _write(
        "zone.geojson",
        _collection(
            "zone",
            [
                _feature(
                    {
                        "key": "zone",
                        "name_zh": "郑州高新技术产业开发区",
                        "name_en": "Zhengzhou High-tech Zone",
                    },
                    zone,
                )
            ],
        ),
    )
    _write("subdistricts.geojson", _collection("subdistricts", [_feature(p, g) for p, g in subs]))
    _write(
        "ring4.geojson",
        _collection(
            "ring4",
            [
                _feature(
                    {"key": "ring4_road", "role": "road", "name_zh": "四环", "name_en": "4th Ring Road"},
                    ring_road,
                ),
                _feature(
                    {
                        "key": "ring4_inside",
                        "role": "inside",
                        "name_zh": "四环内",
                        "name_en": "Inside the 4th Ring",
                    },
                    ring_inside,
                ),
            ],
        ),
    )
    _write("roads.geojson", _collection("roads", [_feature(p, g) for p, g in roads]))
    _write("rivers.geojson", _collection("rivers", [_feature(p, g) for p, g in rivers]))
    _write("parks.geojson", _collection("parks", [_feature(p, g) for p, g in parks]))
    _write("metadata.json", _metadata())
    return {"zone": zone, "subs": subs, "ring": ring_inside, "roads": roads, "rivers": rivers, "parks": parks}


def _metadata() -> dict:
    common = {
        "crs": "EPSG:4326",
        "coordinate_order": "longitude, latitude (WGS-84; CGCS2000 agrees to well under a metre)",
        "precision": "6 decimals",
        "approximation": True,
        "official": False,
        "status": "APPROXIMATION drawn for the seed data set of the 7·20 flood-recovery tracker; NOT an official boundary "
        "or survey. 近似示意数据，仅供本数据集使用，非官方边界。",
        "source": "hand-drawn from general knowledge of the area; no map data was copied",
        "date": DATE,
        "generator": "geodata/build.py (deterministic)",
    }
    files = {
        "zone.geojson": "One Polygon: the outline of 郑州高新技术产业开发区, drawn as an irregular 21-vertex polygon.",
        "subdistricts.geojson": "Five Polygons (shifo, gouzhao, shuangqiao, fengyang, wutong) made by clipping the zone "
        "with cells that tile the plane (shapely intersection on a 1e-6 degree grid), so they "
        "share edges exactly and their union is the zone.",
        "ring4.geojson": "The 4th ring road as a closed LineString (role=road) and the area it encloses as a Polygon "
        "(role=inside); 西四环 runs north-south at about 113.54 E, 北四环 east-west at about 34.868 N.",
        "roads.geojson": "Main and secondary roads as LineStrings, drawn as a grid and clipped to the zone "
        "(road_class main|secondary).",
        "rivers.geojson": "贾鲁河, 索须河 and 须水河 as LineStrings (not clipped; they run beyond the zone).",
        "parks.geojson": "Industrial parks as Polygons inside the zone.",
    }
    keys = {
        "zone.geojson": ["key", "name_zh", "name_en"],
        "subdistricts.geojson": ["key", "name_zh", "name_en"],
        "ring4.geojson": ["key", "role", "name_zh", "name_en"],
        "roads.geojson": ["key", "name_zh", "name_en", "road_class"],
        "rivers.geojson": ["key", "name_zh", "name_en"],
        "parks.geojson": ["key", "name_zh", "name_en"],
    }
    return {
        "title": "郑州高新区 approximate geodata for the 7·20 flood-recovery tracker",
        "files": {name: {**common, "method": files[name], "properties": keys[name]} for name in files},
        "replace_with_official": (
            "Replace a layer with official data by importing it, e.g. `recovery geodata import FILE --layer "
            "subdistricts --key-field <field> --name-field <field>`; the result uses the same file names, the same "
            "property keys (key, name_zh, name_en; role for ring4; road_class for roads) and EPSG:4326. Sub-district "
            "keys must stay shifo, gouzhao, shuangqiao, fengyang, wutong. Site sub-districts are spatial joins, so "
            "they follow the new boundaries automatically."
        ),
    }


def check(built: dict) -> None:
    zone = built["zone"]
    subs = [g for _, g in built["subs"]]
    union = shapely.union_all(subs)
    print(f"zone area {zone.area:.9f} deg2, vertices {len(zone.exterior.coords) - 1}, bounds {zone.bounds}")
    print(f"union - zone symmetric difference area {union.symmetric_difference(zone).area:.3e}")
    overlap = sum(subs[i].intersection(subs[j]).area for i in range(5) for j in range(i + 1, 5))
    print(f"pairwise overlap area {overlap:.3e}")
    for p, g in built["subs"]:
        print(f"  {p['key']:<11} {p['name_zh']} share {g.area / zone.area:6.1%}")
    inside = zone.intersection(built["ring"]).area / zone.area
    print(f"zone share inside the 4th ring: {inside:.1%}")
    for p, g in built["roads"]:
        print(
            f"  road {p['name_zh']:<5} {p['road_class']:<9} length_in_zone {g.intersection(zone).length * 92000:7.0f} m"
        )
    for p, g in built["rivers"]:
        print(f"  river {p['name_zh']} length_in_zone {g.intersection(zone).length * 92000:7.0f} m")
    for p, g in built["parks"]:
        print(f"  park {p['name_zh']} inside {zone.contains(g)}")
    assert union.symmetric_difference(zone).area < 1e-9 and overlap < 1e-9
    assert 0.38 <= inside <= 0.52


if __name__ == "__main__":
    result = build()
    if "--check" in sys.argv:
        check(result)
