"""The Folium map of the zone: base layers from the zone's own geodata, a layer per site kind, the choropleth.

Folium draws what is small and fixed (boundaries, 4th ring, rivers, roads, the layer control); the sites
themselves are filled into the per-kind layers by recovery/static/map/map.js from the cluster endpoint, so the
page stays the same size whether the zone holds a thousand sites or a million. Every script and stylesheet is
served by the app: Folium's CDN defaults are replaced on the map instance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import folium
import numpy as np
import shapely
from shapely.geometry import mapping, shape

from recovery.coords import from_wgs84
from recovery.i18n import N_, in_locale, locale_for, pick
from recovery.kinds import KIND, KINDS
from recovery.map.style import choropleth_colour

TILE_SERVERS = {
    "osm": {
        "url": "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attr": "© OpenStreetMap contributors",
        "subdomains": "abc",
    },
    "tianditu": {
        "url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec"
        "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%(key)s",
        "attr": "© 天地图 Tianditu",
        "subdomains": "01234567",
    },
    "amap": {
        "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "attr": "© 高德地图 AutoNavi",
        "subdomains": "1234",
    },
}
#: the tile servers whose maps are drawn in GCJ-02: data is shifted for display on them
GCJ02_SERVERS = ("amap",)


@dataclass(frozen=True)
class BuiltMap:
    header: str
    html: str
    script: str
    map_var: str
    kind_vars: dict[str, str]
    choropleth_var: str


def display_crs(tile_server: str) -> str:
    return "gcj02" if tile_server in GCJ02_SERVERS else "wgs84"


def shift_geometry(geometry: dict, crs: str) -> dict:
    """A GeoJSON geometry moved from WGS-84 into `crs` for display (unchanged for wgs84)."""
    if crs == "wgs84":
        return geometry

    def move(coords: np.ndarray) -> np.ndarray:
        return np.array([from_wgs84(lon, lat, crs) for lon, lat in coords], dtype=float).reshape(-1, 2)

    return mapping(shapely.transform(shape(geometry), move))


def _layer(path: Path, crs: str) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.pop("crs", None)
    for feature in data["features"]:
        feature["geometry"] = shift_geometry(feature["geometry"], crs)
    return data


def build_map(
    geodata_dir: str | Path,
    *,
    zh: bool,
    completion: dict[str, dict],
    static_url,
    tile_server: str = "none",
    tianditu_key: str = "",
) -> BuiltMap:
    """Render the Folium map. `completion` is the sub-districts' completion rates for the chosen day;
    `static_url(path)` gives the app's URL of a static file."""
    folder = Path(geodata_dir)
    crs = display_crs(tile_server)
    zone = _layer(folder / "zone.geojson", crs)
    centre = shape(zone["features"][0]["geometry"]).centroid
    m = folium.Map(
        location=[centre.y, centre.x],
        zoom_start=12,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        min_zoom=9,
        max_zoom=19,
    )
    # no CDN: only the vendored Leaflet and the app's own stylesheet
    m.default_js = [("leaflet", static_url("vendor/leaflet/leaflet.js"))]
    m.default_css = [("leaflet_css", static_url("vendor/leaflet/leaflet.css"))]
    if tile_server in TILE_SERVERS:
        server = TILE_SERVERS[tile_server]
        folium.TileLayer(
            tiles=server["url"] % {"key": tianditu_key} if "%(key)s" in server["url"] else server["url"],
            attr=server["attr"],
            subdomains=server["subdomains"],
            name=server["attr"],
            max_zoom=19,
        ).add_to(m)

    locale = locale_for(zh)
    base = folium.FeatureGroup(name=in_locale(N_("Base map"), locale), control=False).add_to(m)
    folium.GeoJson(
        zone,
        style_function=lambda f: {"color": "#555", "weight": 1, "fillColor": "#f4f1ea", "fillOpacity": 0.6},
    ).add_to(base)
    folium.GeoJson(
        _layer(folder / "parks.geojson", crs),
        style_function=lambda f: {
            "color": "#7fbf7b",
            "weight": 1,
            "fillColor": "#d9f0d3",
            "fillOpacity": 0.5,
        },
    ).add_to(base)
    folium.GeoJson(
        _layer(folder / "roads.geojson", crs),
        style_function=lambda f: {
            "color": "#9e9e9e",
            "weight": 3 if f["properties"].get("road_class") == "main" else 1.5,
        },
    ).add_to(base)

    subs = _layer(folder / "subdistricts.geojson", crs)
    for feature in subs["features"]:
        props = feature["properties"]
        stats = completion.get(props["key"], {})
        rate = stats.get("rate")
        props["label"] = pick(props["name_zh"], props["name_en"], locale)
        props["rate_text"] = f"{rate:.2f}%" if rate is not None else "—"
        props["fill"] = choropleth_colour(rate)
    choropleth = folium.GeoJson(
        subs,
        name=in_locale(N_("Completion by sub-district"), locale),
        style_function=lambda f: {
            "color": "#444",
            "weight": 2,
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.45,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["label", "rate_text"],
            aliases=[in_locale(N_("Sub-district"), locale), in_locale(N_("Completion"), locale)],
        ),
    ).add_to(m)
    ring = _layer(folder / "ring4.geojson", crs)
    ring["features"] = [f for f in ring["features"] if f["properties"].get("role") == "road"]
    folium.GeoJson(
        ring,
        name=in_locale(N_("4th Ring Road"), locale),
        style_function=lambda f: {"color": "#b35806", "weight": 4, "dashArray": "8 6"},
    ).add_to(m)
    folium.GeoJson(
        _layer(folder / "rivers.geojson", crs),
        name=in_locale(N_("Rivers"), locale),
        style_function=lambda f: {"color": "#2b8cbe", "weight": 4},
    ).add_to(m)

    kind_vars = {}
    for kind in KINDS.values():
        # a layer is named, not coloured: colour means progress on the whole map (recovery.map.style)
        group = folium.FeatureGroup(name=KIND.label(kind.key, locale)).add_to(m)
        kind_vars[kind.key] = group.get_name()
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    root = m.get_root()
    root.render()
    return BuiltMap(
        header=root.header.render(),
        html=root.html.render(),
        script=root.script.render(),
        map_var=m.get_name(),
        kind_vars=kind_vars,
        choropleth_var=choropleth.get_name(),
    )
