"""The field app at /field: an installable offline-first web app for phones, served entirely by this server."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template, send_from_directory

from recovery.web.policy import allow

bp = Blueprint("field", __name__, url_prefix="/field")
FIELD_ROLES = ("field", "commander", "admin")


@bp.get("/")
@allow(*FIELD_ROLES)
def app():
    """The app shell; everything else is drawn by /static/field/app.js from the API (and from its cache)."""
    response = make_response(render_template("field/app.html"))
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
