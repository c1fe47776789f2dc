"""`/api/v1/openapi.json`: the OpenAPI 3 document generated from the routes' declarations
(`recovery.web.apidoc`); `/api/v1/docs` renders it with the app's own script (no CDN), in the reader's language."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from recovery.web.apidoc import document, json_response, operation
from recovery.web.jsmessages import strings
from recovery.web.policy import allow

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


@bp.get("/openapi.json")
@operation("This document", tag="meta", responses={"200": json_response("OpenAPI 3.0")})
@allow("anonymous")
def openapi_json():
    return jsonify(document(current_app, request.script_root + "/api/v1"))


@bp.get("/docs")
@operation(
    "This document, to read",
    tag="meta",
    responses={
        "200": {"description": "an HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
    },
)
@allow("anonymous")
def docs():
    return render_template("apidoc.html", strings=strings("apidoc"))
