"""The Flask adapter of the OGC API: content negotiation (`f=json|html`, Accept), access rules, templates."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from recovery.db import get_session
from recovery.errors import ValidationError
from recovery.i18n import current_locale
from recovery.ogc import core
from recovery.ogc.openapi import ogc_openapi
from recovery.query.sites import parse_datetime, parse_site_query
from recovery.web.policy import READERS, allow
from recovery.web.public_url import public_root

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


def _zh() -> bool:
    return current_locale().startswith("zh")


def _base() -> str:
    """The service's base for links: from the public URL, never the Host header (recovery.web.public_url)."""
    return public_root() + bp.url_prefix


def _wants_html() -> bool:
    fmt = request.args.get("f")
    if fmt is not None:
        if fmt not in ("json", "html"):
            raise ValidationError("f must be json or html.")
        return fmt == "html"
    best = request.accept_mimetypes.best_match(["application/json", "application/geo+json", "text/html"])
    return (
        best == "text/html" and request.accept_mimetypes[best] > request.accept_mimetypes["application/json"]
    )


def _respond(doc: dict, page: str, mimetype: str = core.JSON, title: str = ""):
    if _wants_html():
        return render_template("ogc_page.html", doc=doc, page=page, title=title)
    response = jsonify(doc)
    response.mimetype = mimetype
    return response


@bp.get("")
@bp.get("/")
@allow(*READERS)
def landing():
    doc = core.landing(_base(), _zh())
    return _respond(doc, "landing", title=doc["title"])


@bp.get("/conformance")
@allow(*READERS)
def conformance():
    return _respond(core.conformance(), "conformance", title="Conformance")


@bp.get("/api")
@allow(*READERS)
def api():
    if request.args.get("f") == "html":
        return render_template("ogc_page.html", doc=ogc_openapi(_base()), page="api", title="OpenAPI")
    response = jsonify(ogc_openapi(_base()))
    response.mimetype = "application/vnd.oai.openapi+json"
    return response


@bp.get("/collections")
@allow(*READERS)
def collections():
    return _respond(core.collections(get_session(), _base(), _zh()), "collections", title="Collections")


@bp.get("/collections/<kind>")
@allow(*READERS)
def collection(kind: str):
    doc = core.one_collection(get_session(), _base(), kind, _zh())
    return _respond(doc, "collection", title=doc["title"])


@bp.get("/collections/<kind>/items")
@allow(*READERS)
def items(kind: str):
    site_query = parse_site_query(
        request.args,
        kind=kind if kind in core.KINDS else None,
        default_limit=core.DEFAULT_LIMIT,
        max_limit=core.MAX_LIMIT,
    )
    doc = core.items(get_session(), _base(), kind, site_query, request.args.to_dict())
    return _respond(doc, "items", core.GEOJSON, title=kind)


@bp.get("/collections/<kind>/items/<key>")
@allow(*READERS)
def item(kind: str, key: str):
    doc = core.item(get_session(), _base(), kind, key, parse_datetime(request.args.get("datetime")))
    return _respond(doc, "item", core.GEOJSON, title=key)
