"""The field app at /field: an installable offline-first web app for phones, served entirely by this server."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, current_app, jsonify, make_response, render_template, send_from_directory

from recovery.i18n import current_locale, pick
from recovery.kinds import KINDS
from recovery.vocab import label
from recovery.web.jsmessages import strings
from recovery.web.policy import allow

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
        out.append({"key": kind.key, "label": label("kind", kind.key, locale), "attributes": attributes})
    return out


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
    config = {"kinds": reportable_kinds(locale), "trackStatuses": track_statuses(locale)}
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
