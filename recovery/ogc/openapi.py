"""The OpenAPI 3.0 definition of the OGC API endpoints (the `oas30` conformance class)."""

from __future__ import annotations

from typing import Any

from recovery.incident import current_incident
from recovery.kinds import KINDS
from recovery.ogc.core import DEFAULT_LIMIT, MAX_LIMIT
from recovery.vocab import SUBDISTRICT_ORDER


def _param(name: str, description: str, schema: dict, where: str = "query", required: bool = False) -> dict:
    return (
        {
            "name": name,
            "in": where,
            "description": description,
            "required": required,
            "schema": schema,
            "style": "form",
            "explode": False,
        }
        if where == "query"
        else {"name": name, "in": where, "description": description, "required": True, "schema": schema}
    )


def _json(description: str, media: str = "application/json") -> dict:
    return {
        "description": description,
        "content": {media: {"schema": {"type": "object"}}, "text/html": {"schema": {"type": "string"}}},
    }


def ogc_openapi(base: str) -> dict[str, Any]:
    f = _param("f", "json or html", {"type": "string", "enum": ["json", "html"]})
    collection_id = _param("collectionId", "a site kind", {"type": "string", "enum": list(KINDS)}, "path")
    items_params = [
        collection_id,
        _param(
            "limit",
            "features per page",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
        _param("offset", "features to skip", {"type": "integer", "minimum": 0, "default": 0}),
        _param(
            "bbox",
            "min lon, min lat, max lon, max lat (CRS84)",
            {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
        ),
        _param("datetime", "the state as of this instant (or the end of an interval)", {"type": "string"}),
        _param("status", "status keys, comma-separated", {"type": "string"}),
        _param(
            "subdistrict",
            "sub-district key",
            {"type": "string", "enum": list(SUBDISTRICT_ORDER)},
        ),
        f,
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{current_incident().name.en} recovery sites — OGC API Features",
            "version": "1.0.0",
        },
        "servers": [{"url": base}],
        "paths": {
            "/": {
                "get": {
                    "summary": "Landing page",
                    "operationId": "getLandingPage",
                    "parameters": [f],
                    "responses": {"200": _json("links to the API, conformance and collections")},
                }
            },
            "/conformance": {
                "get": {
                    "summary": "Conformance classes",
                    "operationId": "getConformanceDeclaration",
                    "parameters": [f],
                    "responses": {"200": _json("conformsTo")},
                }
            },
            "/collections": {
                "get": {
                    "summary": "The collections (one per site kind)",
                    "operationId": "getCollections",
                    "parameters": [f],
                    "responses": {"200": _json("collections with extents")},
                }
            },
            "/collections/{collectionId}": {
                "get": {
                    "summary": "One collection",
                    "operationId": "describeCollection",
                    "parameters": [collection_id, f],
                    "responses": {
                        "200": _json("the collection"),
                        "404": {"description": "unknown collection"},
                    },
                }
            },
            "/collections/{collectionId}/items": {
                "get": {
                    "summary": "The sites of a kind",
                    "operationId": "getFeatures",
                    "parameters": items_params,
                    "responses": {
                        "200": _json("a GeoJSON FeatureCollection", "application/geo+json"),
                        "400": {"description": "a parameter is invalid"},
                        "404": {"description": "unknown collection"},
                    },
                }
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {
                    "summary": "One site",
                    "operationId": "getFeature",
                    "parameters": [
                        collection_id,
                        _param("featureId", "the site's key", {"type": "string"}, "path"),
                        _param("datetime", "the state as of this instant", {"type": "string"}),
                        f,
                    ],
                    "responses": {
                        "200": _json("a GeoJSON Feature", "application/geo+json"),
                        "404": {"description": "no such site"},
                    },
                }
            },
        },
    }
