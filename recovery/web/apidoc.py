"""The OpenAPI 3 document of `/api/v1`, generated from what the routes declare: `@operation(...)` next to each view
(summary, query parameters, headers, JSON body, responses), the path and its parameters from the route (Flask's
converters give their types), the methods from the route, the roles from the view's `@allow` policy.

`drift(app)` says which routes the document misses; the tests fail on any."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask
from werkzeug.routing import BaseConverter, FloatConverter, IntegerConverter, Rule, UUIDConverter

from recovery.fields import Body, Param
from recovery.incident import current_incident
from recovery.web.policy import ROLES, policy_of

PREFIX = "/api/v1"
F = TypeVar("F", bound=Callable)

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "status", "message", "request_id"],
            "properties": {
                "code": {"type": "string"},
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "request_id": {"type": "string"},  # the X-Request-ID header (recovery.web.observability)
            },
        }
    },
}
#: the statuses any operation may answer with the one error shape (recovery.web.errors)
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
IMAGE = {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}
OBJECT = {"type": "object"}


def header(name: str, description: str, required: bool = False) -> Param:
    return Param(name, {"type": "string"}, description, location="header", required=required)


def path(name: str, schema: dict[str, Any], description: str) -> Param:
    """A path parameter's description and a schema narrower than its converter's (a day's format)."""
    return Param(name, schema, description, location="path")


@dataclass(frozen=True)
class Operation:
    """What a view declares about itself; the route adds its path, methods and roles."""

    summary: str
    tag: str
    query: tuple[Param, ...] = ()
    headers: tuple[Param, ...] = ()
    path: tuple[Param, ...] = ()
    body: Body | None = None
    #: a request body that is not JSON: media type → schema (a photo)
    content: dict[str, Any] | None = None
    responses: dict[str, Any] = field(default_factory=dict)


def operation(summary: str, *, tag: str, **declared: Any) -> Callable[[F], F]:
    """Declare a view's operation for the OpenAPI document: `@operation("Sites", tag="field",
    query=SITE_FILTERS, body=EVENT_BODY, responses={"201": "the event"})`. A response given as text is a JSON
    object with that description."""

    def mark(view: F) -> F:
        view.operation = Operation(summary, tag, **declared)  # type: ignore[attr-defined]
        return view

    return mark


def json_response(description: str, schema: dict | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or OBJECT}}}


def _response(value: str | dict) -> dict[str, Any]:
    return json_response(value) if isinstance(value, str) else value


_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?(\w+)>")


def _converter_schema(converter: BaseConverter | None) -> dict[str, Any]:
    if isinstance(converter, IntegerConverter):
        schema: dict[str, Any] = {"type": "integer"}
        if converter.min is not None:
            schema["minimum"] = converter.min
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    if isinstance(converter, FloatConverter):
        return {"type": "number"}
    if isinstance(converter, UUIDConverter):
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _path_parameters(rule: Rule, declared: tuple[Param, ...]) -> list[dict[str, Any]]:
    """Every placeholder of the route, in order, typed by its converter; a declaration adds its description."""
    by_name = {p.name: p for p in declared}
    converters = getattr(rule, "_converters", {})
    out = []
    for name in _PLACEHOLDER.findall(rule.rule):
        schema = _converter_schema(converters.get(name))
        given = by_name.get(name)
        out.append(
            Param(
                name,
                schema | (given.schema if given else {}),
                given.description if given else name.replace("_", " "),
                "path",
            ).openapi()
        )
    return out


def api_rules(app: Flask) -> list[Rule]:
    return sorted(
        (r for r in app.url_map.iter_rules() if r.rule.startswith(PREFIX + "/")),
        key=lambda r: (r.rule, r.endpoint),
    )


def methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def openapi_path(rule: Rule) -> str:
    """`/api/v1/sites/<id:site_id>` → `/sites/{site_id}` (relative to the server `/api/v1`)."""
    return _PLACEHOLDER.sub(r"{\1}", rule.rule)[len(PREFIX) :]


def declared_operation(app: Flask, rule: Rule) -> Operation | None:
    return getattr(app.view_functions.get(rule.endpoint), "operation", None)


def _entry(app: Flask, rule: Rule, method: str, op: Operation) -> dict[str, Any]:
    roles = policy_of(app, rule.endpoint) or frozenset()
    responses = {status: _response(value) for status, value in op.responses.items()}
    for status, text in ERRORS.items():
        responses.setdefault(status, json_response(text, {"$ref": "#/components/schemas/Error"}))
    ordered_roles = [r for r in ROLES if r in roles]
    entry: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": method.lower() + re.sub(r"\W+", "_", openapi_path(rule)).rstrip("_"),
        "description": "Roles: " + ", ".join(ordered_roles),
        "x-roles": ordered_roles,
        "parameters": _path_parameters(rule, op.path) + [p.openapi() for p in (*op.headers, *op.query)],
        "responses": responses,
    }
    if "anonymous" not in roles:
        entry["security"] = [{"bearer": []}, {"session": []}]
    if op.body is not None:
        entry["requestBody"] = {
            "required": op.body.required,
            "content": {"application/json": {"schema": op.body.schema()}},
        }
    elif op.content is not None:
        entry["requestBody"] = {"required": True, "content": op.content}
    return entry


def document(app: Flask, server: str = PREFIX) -> dict[str, Any]:
    """The OpenAPI 3.0 document of every declared route of `app` under /api/v1."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in api_rules(app):
        op = declared_operation(app, rule)
        if op is None:
            continue
        for method in methods(rule):
            paths.setdefault(openapi_path(rule), {})[method.lower()] = _entry(app, rule, method, op)
    incident = app.extensions.get("recovery.incident") or current_incident()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"recovery · {incident.zone.zh}{incident.name.zh}灾后恢复重建跟踪系统 API",
            "version": "1",
            "description": 'Errors have one shape: {"error": {"code", "status", "message", "request_id"}}, '
            "the request id also in the X-Request-ID header, the message in the caller's language (?lang=, Accept-Language; Chinese by default). Enumerated values are "
            "listed by their keys and read by any of their names (key, Chinese or English label, alias).",
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


def drift(app: Flask) -> list[str]:
    """How the document and the app's routes under /api/v1 disagree: a route that declares no operation, or a
    route whose documented roles are not its policy. Empty when they agree."""
    paths = document(app)["paths"]
    problems = []
    for rule in api_rules(app):
        policy = policy_of(app, rule.endpoint)
        for method in methods(rule):
            entry = paths.get(openapi_path(rule), {}).get(method.lower())
            where = f"{method} {PREFIX}{openapi_path(rule)}"
            if entry is None:
                problems.append(f"{where} is not in the OpenAPI document")
            elif policy is None or set(entry["x-roles"]) != policy:
                problems.append(f"{where}: the document's roles differ from the route's policy")
    return problems
