"""The field app at /field: an installable offline-first web app for phones, served entirely by this server."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlencode

from flask import Blueprint, current_app, jsonify, make_response, render_template, send_from_directory

from recovery.auth import current_account
from recovery.coords import from_wgs84
from recovery.db import get_session
from recovery.i18n import current_locale, pick
from recovery.kinds import KINDS
from recovery.sites import choosable_teams, team_names
from recovery.vocab import label
from recovery.web.jsmessages import strings
from recovery.web.policy import allow
from recovery.web.site_access import site_or_404

bp = Blueprint("field", __name__, url_prefix="/field")
FIELD_ROLES = ("field", "commander", "admin")
#: the layers of the zone's own geodata drawn as the field app's base map (no tile server needed)
BASE_LAYERS = ("subdistricts", "roads", "rivers")


def reportable_kinds(locale: str) -> list[dict]:
    """Kinds a field user can report by a point, with the attributes the report must give and their choices."""
    out = []
    for kind in KINDS.values():
        if "Point" not in kind.geometry_types:
            continue
        attributes = [
            {
                "key": a.key,
                "label": pick(a.zh, a.en, locale),
                "choices": [{"key": t.key, "label": t.label(locale)} for t in a.choices.terms],
            }
            for a in kind.attributes
            if a.required and a.choices and not a.derived
        ]
        out.append(
            {
                "key": kind.key,
                "label": label("kind", kind.key, locale),
                "attributes": attributes,
                # a road's class sets its priority (先主后次); other kinds are asked for one
                "asks_priority": not any(a.key == "road_class" for a in kind.attributes),
                "check_in": kind.recurring_check_in,
            }
        )
    return out


def navigation_links(lon: float, lat: float, name: str) -> dict:
    """Links that hand a WGS-84 position to a navigation app, each in the app's own system: `geo:` (WGS-84,
    any Android map), AMap/高德 (GCJ-02) and Baidu/百度 (BD-09), with the converted coordinates."""
    gcj_lon, gcj_lat = from_wgs84(lon, lat, "gcj02")
    bd_lon, bd_lat = from_wgs84(lon, lat, "bd09")
    r = lambda x: f"{x:.6f}"  # noqa: E731
    amap = {
        "sourceApplication": "recovery",
        "dlat": r(gcj_lat),
        "dlon": r(gcj_lon),
        "dname": name,
        "dev": "0",
        "t": "0",
    }
    baidu = {
        "destination": f"latlng:{r(bd_lat)},{r(bd_lon)}|name:{name}",
        "coord_type": "bd09ll",
        "mode": "driving",
        "src": "recovery.field",
    }
    return {
        "wgs84": [round(lon, 6), round(lat, 6)],
        "gcj02": [round(gcj_lon, 6), round(gcj_lat, 6)],
        "bd09": [round(bd_lon, 6), round(bd_lat, 6)],
        "geo": f"geo:{r(lat)},{r(lon)}?q={r(lat)},{r(lon)}({quote(name)})",
        "amap": "amapuri://route/plan/?" + urlencode(amap, quote_via=quote),
        "baidu": "baidumap://map/direction?" + urlencode(baidu, quote_via=quote),
    }


def track_statuses(locale: str) -> dict[str, dict[str, str]]:
    """Per kind with utilities (供水、供电、供气), the labels of a utility's statuses (中断, 已恢复)."""
    return {
        kind.key: {s.key: s.label(locale) for s in kind.track_statuses}
        for kind in KINDS.values()
        if kind.track_statuses
    }


@bp.get("/")
@allow(*FIELD_ROLES)
def app():
    """The app shell; everything else is drawn by /static/field/app.js from the API (and from its cache)."""
    locale = current_locale()
    session = get_session()
    config = {
        "kinds": reportable_kinds(locale),
        "trackStatuses": track_statuses(locale),
        # the teams a new site may be given, and every team's name (the site page shows a site's team)
        "teams": [{"key": t.key, "name": t.name} for t in choosable_teams(session, current_account())],
        "teamNames": {str(k): v for k, v in team_names(session).items()},
    }
    page = render_template("field/app.html", field_config=config, strings=strings("field"))
    response = make_response(page)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/geodata.json")
@allow(*FIELD_ROLES)
def geodata():
    """Sub-district boundaries, roads and rivers as one small JSON object of GeoJSON layers."""
    folder = Path(current_app.config["RECOVERY"]["GEODATA_DIR"])
    layers = {}
    for name in BASE_LAYERS:
        path = folder / f"{name}.geojson"
        if path.exists():
            layers[name] = json.loads(path.read_text(encoding="utf-8"))
    response = jsonify(layers)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/navigation/<id:site_id>.json")
@allow(*FIELD_ROLES)
def navigation(site_id: int):
    """Links that open a site (a point on it) in a navigation app, in each app's coordinate system."""
    site = site_or_404(site_id)
    point = site.geom if site.geom.geom_type == "Point" else site.geom.representative_point()
    return jsonify(navigation_links(point.x, point.y, site.name))


@bp.get("/sw.js")
@allow("anonymous")
def service_worker():
    """Served from /field/ so that its scope covers the app; never cached by HTTP, so updates reach phones."""
    response = send_from_directory(current_app.static_folder, "field/sw.js", mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/field/"
    return response


@bp.get("/manifest.webmanifest")
@allow("anonymous")
def manifest():
    return send_from_directory(
        current_app.static_folder, "field/manifest.webmanifest", mimetype="application/manifest+json"
    )
