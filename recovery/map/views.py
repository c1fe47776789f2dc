"""The map page (挂图作战) and its data endpoint: clusters or sites for a view, with the counts beside the map."""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime

import numpy as np
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from shapely.geometry import mapping

from recovery.auth import current_account
from recovery.command import crews, team_names, unit_choices
from recovery.db import get_session
from recovery.errors import ValidationError
from recovery.geodata import SUBDISTRICT_ORDER
from recovery.i18n import current_locale
from recovery.kinds import KIND, KINDS
from recovery.map.build import build_map, display_crs, shift_geometry
from recovery.map.points import PointTable, point_table, text_matches
from recovery.map.query import (
    FEATURE_LIMIT,
    FEATURE_ZOOM,
    clusters,
    in_box,
    overdue_ids,
    select_rows,
    status_of,
    summary,
)
from recovery.map.selection import parse_polygon, select_within
from recovery.map.style import (
    NEUTRAL,
    OVERDUE,
    RAMP,
    all_status_colours,
    choropleth_steps,
    completion_by_subdistrict,
    legend,
)
from recovery.numbers import read_whole_number
from recovery.query.sites import SiteQuery, parse_site_query
from recovery.query.sql import site_shapes
from recovery.site_page import READERS as SITE_PAGE_VIEWERS
from recovery.timeutil import now, query_window, zone_iso
from recovery.web.features import subdistrict_label
from recovery.web.jsmessages import strings
from recovery.web.policy import SIGNED_IN, allow

bp = Blueprint("map", __name__, url_prefix="/map")


def _zh() -> bool:
    return current_locale().startswith("zh")


def _query() -> SiteQuery:
    """The map's filters, its view's box (in the display CRS) and its `date` (the end of that day; none: now)."""
    return parse_site_query(request.args, crs=display_crs(_tile_server()))


def _table(as_of: datetime | None) -> PointTable:
    cache = current_app.extensions.setdefault("recovery.map_tables", OrderedDict())
    return point_table(cache, get_session(), as_of)


def _tile_server() -> str:
    return current_app.config["RECOVERY"].get("TILE_SERVER", "none")


@bp.get("/")
@allow(*SIGNED_IN)
def map_page_slash():
    """/map/ is the map too (a typed or bookmarked address with the slash), with its query."""
    return redirect(url_for("map.map_page", **request.args.to_dict(flat=False)), code=301)


@bp.get("")
@allow(*SIGNED_IN)
def map_page():
    started = time.perf_counter()
    zh = _zh()
    moment = {k: v for k in ("date", "as_of") if (v := request.args.get(k))}
    table = _table(parse_site_query(moment).as_of)
    settings = current_app.config["RECOVERY"]
    first_day, last_day = (d.isoformat() for d in query_window())
    built = build_map(
        settings["GEODATA_DIR"],
        zh=zh,
        completion=completion_by_subdistrict(table),
        static_url=lambda path: url_for("static", filename=path),
        tile_server=_tile_server(),
        tianditu_key=settings.get("TIANDITU_KEY", ""),
    )
    teams = crews(get_session())
    config = {
        "map": built.map_var,
        "kindLayers": built.kind_vars,
        "choropleth": built.choropleth_var,
        "dataUrl": url_for("map.clusters_data"),
        "siteUrl": url_for("sites_api.get_site", site_id=0).removesuffix("0"),
        "fieldUrl": url_for("field.app"),
        "sitePageUrl": url_for("site_page.site_page", site_id=0).removesuffix("0")
        if current_account().role in SITE_PAGE_VIEWERS
        else None,
        "commandUrl": "/api/v1/command",
        "selectionUrl": url_for("map.selection_data"),
        "colours": all_status_colours(),
        "ramp": RAMP,
        "overdueColour": OVERDUE,
        "shading": choropleth_steps(),
        "teamNames": team_names(get_session()),
        "statusLabels": {
            k: {s.key: s.label(current_locale()) for s in (*kind.statuses, *kind.track_statuses)}
            for k, kind in KINDS.items()
        },
        "kindLabels": {k: KIND.label(k, current_locale()) for k in KINDS},
        "subdistrictLabels": {k: subdistrict_label(k, zh) for k in SUBDISTRICT_ORDER},
        "firstDay": first_day,
        "lastDay": last_day,
        "pollSeconds": 10,
        "featureZoom": FEATURE_ZOOM,
    }
    response = render_template(
        "map.html",
        built=built,
        config=config,
        legend=legend(zh),
        ramp=RAMP,
        neutral=NEUTRAL,
        overdue_colour=OVERDUE,
        choropleth=choropleth_steps(),
        kinds=[(k, KIND.label(k, current_locale())) for k in KINDS],
        strings=strings("map"),
        subdistricts=[(k, subdistrict_label(k, zh)) for k in SUBDISTRICT_ORDER],
        teams=teams,
        units=unit_choices(current_locale()),
        first_day=first_day,
        last_day=last_day,
        build_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    return response


@bp.get("/clusters")
@allow(*SIGNED_IN)
def clusters_data():
    """`z`, `bbox`, the filters and `date`: clusters per kind and grid cell (or the sites themselves when few
    or zoomed in), the counts in view and in the whole zone, and the sub-districts' completion."""
    session = get_session()
    zoom = read_whole_number(request.args.get("z", "12"))
    if zoom is None or not 0 <= zoom <= 22:
        raise ValidationError("z must be a zoom level from 0 to 22.")
    crs = display_crs(_tile_server())
    flt = _query()
    as_of = flt.as_of
    at = as_of or now()
    table = _table(as_of)
    text_ids = text_matches(session, flt.text) if flt.text else None
    rows = select_rows(table, flt, at, text_ids)
    view = rows & in_box(table, flt.bbox)
    in_view = int(view.sum())
    payload = {
        "as_of": zone_iso(as_of),
        "version": table.version,
        "zoom": zoom,
        "in_view": in_view,
        "summary": summary(table, rows, at),
        "completion": completion_by_subdistrict(table),
    }
    if zoom >= FEATURE_ZOOM or in_view <= FEATURE_LIMIT:
        payload["mode"] = "features"
        payload["features"] = _features(session, table, view, crs, at)
        payload["clusters"] = []
    else:
        payload["mode"] = "clusters"
        payload["clusters"] = _shift_clusters(clusters(table, view, zoom, at), crs)
        payload["features"] = []
    return jsonify(payload)


@bp.get("/selection")
@allow("commander", "admin")
def selection_data():
    """`polygon` (a GeoJSON Polygon, as drawn on the map), the filters and `date`: how many sites it selects.

    The assign API takes the same polygon, filter and date and assigns exactly these sites."""
    flt = _query()
    as_of = flt.as_of
    at = as_of or now()
    if not request.args.get("polygon"):
        raise ValidationError("The selection must be a GeoJSON Polygon.")
    polygon = parse_polygon(request.args["polygon"], display_crs(_tile_server()))
    table = _table(as_of)
    rows = select_within(get_session(), table, flt, at, polygon)
    return jsonify({"as_of": zone_iso(as_of), "count": int(rows.sum()), "summary": summary(table, rows, at)})


def _shift_clusters(items: list[dict], crs: str) -> list[dict]:
    if crs == "wgs84":
        return items
    from recovery.coords import from_wgs84

    for item in items:
        item["lon"], item["lat"] = (round(v, 6) for v in from_wgs84(item["lon"], item["lat"], crs))
    return items


def _features(session, table: PointTable, view: np.ndarray, crs: str, at: datetime) -> list[dict]:
    """The sites in view with their geometry as stored (lines and polygons as such), at most FEATURE_LIMIT
    unless zoomed in past FEATURE_ZOOM (then at most 5,000), each marked when overdue at `at`."""
    statuses = status_of(table, view)
    late = overdue_ids(table, view, at)
    return [
        {
            "type": "Feature",
            "id": site_id,
            "geometry": shift_geometry(mapping(geom), crs),
            "properties": {
                "id": site_id,
                "kind": kind,
                "name": name,
                "status": statuses[site_id],
                "overdue": site_id in late,
            },
        }
        for site_id, kind, name, geom in site_shapes(session, sorted(statuses)[:5000])
    ]
