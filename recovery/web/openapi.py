"""The OpenAPI 3 document of `/api/v1`, declared as data: add an `Operation` to OPERATIONS when you add an
endpoint. Served at `/api/v1/openapi.json`; `/api/v1/docs` renders it with the app's own script (no CDN)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.interop.export import FORMATS
from recovery.kinds import KINDS
from recovery.web.policy import allow

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "status", "message"],
            "properties": {
                "code": {"type": "string"},
                "status": {"type": "integer"},
                "message": {"type": "string"},
            },
        }
    },
}
OBJECT = {"type": "object"}


def q(name: str, description: str, schema: dict | None = None, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def p(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def h(name: str, description: str, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


IF_MATCH = h("If-Match", 'The site\'s ETag (its version, e.g. "3"); without it 428, when stale 412', True)
IDEMPOTENCY_KEY = h(
    "Idempotency-Key", "A fresh key per change: a retry with the same key and body replays the first answer"
)
CONTENT_RANGE = h("Content-Range", "For a chunk of a resumable upload: bytes first-last/total")
POSITION = {
    "type": "object",
    "description": "Where the reporter stands: lon, lat, crs (wgs84, gcj02, bd09) and accuracy in metres",
    "properties": {
        "lon": {"type": "number"},
        "lat": {"type": "number"},
        "crs": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]},
        "accuracy": {"type": "number"},
    },
}
EVENT_BODY = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "action": {"type": "string", "enum": ["transition", "report"]},
        "status": {"type": "string"},
        "track": {"type": "string", "nullable": True},
        "measures": {"type": "object"},
        "note": {"type": "string"},
        "valid_at": {"type": "string", "format": "date-time"},
        "position": POSITION,
        "photos": {"type": "array", "items": {"type": "integer"}},
    },
}
SITE_BODY = {
    "type": "object",
    "required": ["kind", "name", "geometry"],
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "name": {"type": "string"},
        "address": {"type": "string"},
        "geometry": {"type": "object", "description": "GeoJSON geometry in WGS-84"},
        "attributes": {"type": "object"},
        "priority": {"type": "integer", "minimum": 1, "maximum": 3},
        "note": {"type": "string"},
        "position": POSITION,
    },
}
CHECK_IN_BODY = {
    "type": "object",
    "properties": {"note": {"type": "string"}, "valid_at": {"type": "string"}, "position": POSITION},
}
DECISION_BODY = {
    "type": "object",
    "required": ["decision"],
    "properties": {"decision": {"type": "string", "enum": ["apply", "dismiss"]}, "note": {"type": "string"}},
}
ASSIGN_BODY = {
    "type": "object",
    "required": ["team_id"],
    "description": "site_ids, or the map's filter and/or a drawn polygon",
    "properties": {
        "site_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "filter": {
            "type": "object",
            "description": "the map's filter: kind, status, subdistrict, overdue, q, date",
        },
        "polygon": {"type": "object", "description": "a GeoJSON Polygon drawn on the map"},
        "team_id": {"type": "integer", "minimum": 1},
        "deadline": {"type": "string", "format": "date"},
    },
}
SUPERVISE_BODY = {
    "type": "object",
    "required": ["title", "responsible_unit"],
    "properties": {
        "title": {"type": "string"},
        "responsible_unit": {"type": "string"},
        "severity": {"type": "string", "enum": ["general", "major"]},
        "site_id": {"type": "integer", "minimum": 1, "nullable": True},
    },
}
IMAGE = {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}


def body(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


DAY = {"type": "string", "format": "date", "example": "2021-07-29"}
AS_OF = q(
    "as_of",
    "A day (its end, Asia/Shanghai) or an ISO instant; default the last day with data",
    {"type": "string", "example": "2021-07-29"},
)
KNOWN_AT = q("known_at", "Count only what the server had recorded by then", {"type": "string"})
SUBDISTRICT = q("subdistrict", "Sub-district key", {"type": "string", "enum": list(SUBDISTRICT_ORDER)})
KIND = q("kind", "Site kind", {"type": "string", "enum": list(KINDS)})
BBOX = q(
    "bbox", "min lon,min lat,max lon,max lat (WGS-84)", {"type": "string", "example": "113.5,34.7,113.7,34.9"}
)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    roles: tuple[str, ...]
    parameters: tuple[dict, ...] = ()
    responses: dict[str, Any] = field(default_factory=dict)
    request_body: dict | None = None
    tag: str = "api"


def json_response(description: str, schema: dict | None = None) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema or OBJECT}}}


READ = ("commander", "reporter", "admin")
SIGNED = ("field", "commander", "reporter", "admin")
WRITE = ("field", "commander", "admin")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/metrics",
        "Every figure at a moment",
        SIGNED,
        (AS_OF, KNOWN_AT, SUBDISTRICT),
        {"200": json_response("figures with key, label, value, printed value, definition")},
        tag="figures",
    ),
    Operation(
        "get",
        "/metrics/{key}/records",
        "The records one figure counted",
        SIGNED,
        (
            p("key", "Figure key", {"type": "string", "example": "road_collapse_handled"}),
            AS_OF,
            KNOWN_AT,
            SUBDISTRICT,
            q("side", "numerator or denominator", {"type": "string", "enum": ["numerator", "denominator"]}),
        ),
        {"200": json_response("count, total and records")},
        tag="figures",
    ),
    Operation(
        "get",
        "/reports/daily/{day}",
        "The daily bulletin",
        SIGNED,
        (
            p("day", "YYYY-MM-DD", DAY),
            KNOWN_AT,
            q("format", "json or text", {"type": "string", "enum": ["json", "text"]}),
        ),
        {
            "200": {
                "description": "the bulletin",
                "content": {
                    "application/json": {"schema": OBJECT},
                    "text/plain": {"schema": {"type": "string"}},
                },
            }
        },
        tag="figures",
    ),
    Operation(
        "get",
        "/export",
        "Sites in GeoJSON, GeoPackage, zipped Shapefile, CSV, Excel or KML",
        READ,
        (
            q("format", "Export format", {"type": "string", "enum": list(FORMATS), "default": "geojson"}),
            KIND,
            q("status", "Status keys, comma-separated"),
            SUBDISTRICT,
            BBOX,
            AS_OF,
            q("headers", "CSV/Excel headers: zh or en", {"type": "string", "enum": ["zh", "en"]}),
        ),
        {
            "200": {
                "description": "the file (GeoJSON and CSV are streamed)",
                "content": {
                    spec.mimetype.split(";")[0]: {
                        "schema": OBJECT if spec.key == "geojson" else {"type": "string", "format": "binary"}
                    }
                    for spec in FORMATS.values()
                },
            }
        },
        tag="interop",
    ),
    Operation(
        "get",
        "/me",
        "The signed-in user",
        SIGNED,
        (),
        {"200": json_response("user name, role, scope")},
        tag="field",
    ),
    Operation(
        "get",
        "/sites",
        "Sites, filtered, nearest first when `near` is given",
        SIGNED,
        (
            KIND,
            q("status", "Status keys, comma-separated"),
            SUBDISTRICT,
            BBOX,
            q("mine", "Only my scope: 1 or true"),
            q("include_done", "Include finished sites: 1 or true"),
            q("limit", "1 to 5000", {"type": "integer", "minimum": 1, "maximum": 5000}),
            q("offset", "0 or more", {"type": "integer", "minimum": 0}),
            q("near", "lon,lat"),
            q("crs", "System of `near`", {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]}),
        ),
        {"200": json_response("a GeoJSON FeatureCollection of sites")},
        tag="field",
    ),
    Operation(
        "get",
        "/sites/{site_id}",
        "One site with its events and photos",
        SIGNED,
        (p("site_id", "Site id", {"type": "integer", "minimum": 1}),),
        {"200": json_response("a GeoJSON Feature")},
        tag="field",
    ),
    Operation(
        "post",
        "/sites",
        "Report a new site",
        WRITE,
        (IDEMPOTENCY_KEY,),
        {"201": json_response("the site"), "200": json_response("replayed")},
        request_body=body(SITE_BODY),
        tag="field",
    ),
    Operation(
        "post",
        "/sites/{site_id}/events",
        "Record a change (If-Match, Idempotency-Key)",
        WRITE,
        (p("site_id", "Site id", {"type": "integer", "minimum": 1}), IF_MATCH, IDEMPOTENCY_KEY),
        {
            "201": json_response("the event; the new ETag in the ETag header"),
            "202": json_response("held as a conflict for a commander to decide"),
            "200": json_response("replayed"),
        },
        request_body=body(EVENT_BODY),
        tag="field",
    ),
    Operation(
        "post",
        "/sites/{site_id}/check-in",
        "Daily check-in of a disinfection point",
        WRITE,
        (p("site_id", "Site id", {"type": "integer", "minimum": 1}), IDEMPOTENCY_KEY),
        {"201": json_response("the event"), "200": json_response("replayed")},
        request_body=body(CHECK_IN_BODY),
        tag="field",
    ),
    Operation(
        "post",
        "/sites/{site_id}/photos",
        "Upload a photo (resumable with Content-Range)",
        WRITE,
        (p("site_id", "Site id", {"type": "integer", "minimum": 1}), CONTENT_RANGE),
        {"201": json_response("the photo"), "200": json_response("progress")},
        request_body=IMAGE,
        tag="field",
    ),
    *(
        Operation(
            method,
            "/sites/{site_id}/photos/{upload_id}",
            "Send a chunk of a resumable upload (Content-Range); the last one stores the photo",
            WRITE,
            (
                p("site_id", "Site id", {"type": "integer", "minimum": 1}),
                p("upload_id", "Upload id chosen by the client"),
                CONTENT_RANGE,
            ),
            {"201": json_response("the photo"), "200": json_response("bytes received so far")},
            request_body=IMAGE,
            tag="field",
        )
        for method in ("put", "post")
    ),
    Operation(
        "get",
        "/sites/{site_id}/photos/{upload_id}",
        "Progress of a resumable upload",
        WRITE,
        (p("site_id", "Site id", {"type": "integer", "minimum": 1}), p("upload_id", "Upload id")),
        {"200": json_response("bytes received")},
        tag="field",
    ),
    Operation(
        "get",
        "/photos/{photo_id}",
        "A photo",
        SIGNED,
        (p("photo_id", "Photo id", {"type": "integer"}),),
        {
            "200": {
                "description": "the image",
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
        tag="field",
    ),
    Operation(
        "get",
        "/photos/{photo_id}/thumb",
        "A photo's thumbnail",
        SIGNED,
        (p("photo_id", "Photo id", {"type": "integer"}),),
        {
            "200": {
                "description": "the thumbnail",
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
        tag="field",
    ),
    Operation(
        "get",
        "/conflicts",
        "Changes held as conflicts, awaiting a commander",
        ("commander", "admin"),
        (),
        {"200": json_response("conflicts and count")},
        tag="field",
    ),
    Operation(
        "post",
        "/conflicts/{event_id}",
        "Decide a conflict",
        ("commander", "admin"),
        (p("event_id", "Event id", {"type": "integer"}),),
        {"201": json_response("the decision, recorded in the ledger")},
        request_body=body(DECISION_BODY),
        tag="field",
    ),
    Operation(
        "post",
        "/command/assign",
        "Assign sites to a team with a deadline (by id, the map's filter or a drawn polygon)",
        ("commander", "admin"),
        (),
        {"201": json_response("the sites assigned and their events")},
        request_body=body(ASSIGN_BODY),
        tag="command",
    ),
    Operation(
        "post",
        "/command/supervise",
        "Issue a supervision order (督办) to a responsible unit",
        ("commander", "admin"),
        (),
        {"201": json_response("the work item with its 13710 deadlines")},
        request_body=body(SUPERVISE_BODY),
        tag="command",
    ),
    Operation(
        "post",
        "/reports/daily/{day}/publish",
        "Publish the day's bulletin: freeze its figures and files",
        ("commander", "reporter", "admin"),
        (p("day", "YYYY-MM-DD", DAY),),
        {"201": json_response("the published version, its cut-off and digest")},
        tag="figures",
    ),
    Operation(
        "get",
        "/reports/daily/{day}/corrections",
        "What changed in the figures since the day's bulletin was published",
        READ,
        (p("day", "YYYY-MM-DD", DAY),),
        {"200": json_response("the published version and its corrections")},
        tag="figures",
    ),
    Operation(
        "get",
        "/openapi.json",
        "This document",
        ("anonymous",),
        (),
        {"200": json_response("OpenAPI 3.0")},
        tag="meta",
    ),
)
ERRORS = {
    "400": "invalid input",
    "401": "sign in (session cookie or `Authorization: Bearer <token>`)",
    "403": "your role may not do this",
    "404": "not found",
    "409": "conflict",
    "412": "precondition failed",
    "413": "too large",
    "415": "unsupported media type",
    "422": "idempotency conflict",
    "428": "If-Match required",
    "429": "too many requests",
}


def document(server: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.0 document of every operation declared above."""
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        responses = dict(op.responses)
        for status, text in ERRORS.items():
            responses.setdefault(status, json_response(text, {"$ref": "#/components/schemas/Error"}))
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": list(op.parameters),
            "responses": responses,
            "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "description": "Roles: " + ", ".join(op.roles),
        }
        if "anonymous" not in op.roles:
            entry["security"] = [{"bearer": []}, {"session": []}]
        if op.request_body is not None:
            entry["requestBody"] = {"required": True, **op.request_body}
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "recovery · 7·20 灾后恢复重建跟踪系统 API",
            "version": "1",
            "description": 'Errors have one shape: {"error": {"code", "status", "message"}}, the message '
            "in the caller's language (?lang=, Accept-Language; Chinese by default).",
        },
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`recovery users token NAME` issues one",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


def drift(app) -> list[str]:
    """How the document and the app's routes under /api/v1 disagree: a route missing from the document, an
    operation with no route, or roles that differ from the route's policy. Empty when they agree."""
    import re

    from recovery.web.policy import policy_of

    documented = {(op.method.upper(), "/api/v1" + op.path): op for op in OPERATIONS}
    problems, seen = [], set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint == "openapi.docs":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = documented.get((method, path))
            seen.add((method, path))
            if op is None:
                problems.append(f"{method} {path} is not in the OpenAPI document")
            elif policy_of(app, rule.endpoint) != frozenset(op.roles):
                problems.append(f"{method} {path}: the document's roles differ from the route's policy")
    problems += [f"{m} {p} is documented but no route answers it" for m, p in sorted(set(documented) - seen)]
    return problems


@bp.get("/openapi.json")
@allow("anonymous")
def openapi_json():
    return jsonify(document(request.script_root + "/api/v1"))


@bp.get("/docs")
@allow("anonymous")
def docs():
    page = Path(current_app.static_folder) / "apidoc" / "index.html"
    return Response(page.read_text(encoding="utf-8"), mimetype="text/html")
