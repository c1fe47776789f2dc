"""The OpenAPI document of /api/v1, generated from the routes' declarations: served to anyone, valid OpenAPI 3,
every route of the app in it with its methods and the roles of its policy, the query parameters and JSON bodies
the views check the ones it shows; schemathesis finds no 5xx and no response that breaks it (GET operations,
signed in as an admin; a few examples each to stay quick)."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from support.accounts import bearer, token_for

from recovery.errors import ValidationError
from recovery.fields import Args, Body
from recovery.query.sites import SITE_FILTERS, parse_site_query
from recovery.web import declared
from recovery.web.apidoc import document, drift
from recovery.web.declared import WORK_ITEM_QUERY
from recovery.web.params import AS_OF, DATE, KNOWN_AT, SUBDISTRICT
from recovery.web.policy import allow, policy_of


def _routes(app) -> dict[tuple[str, str], str]:
    """(METHOD, OpenAPI path) → endpoint of every route under /api/v1, read from the app's URL map."""
    out = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule).removeprefix("/api/v1")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                out[(method, path)] = rule.endpoint
    return out


def _operations(doc: dict) -> dict[tuple[str, str], dict]:
    return {(m.upper(), path): op for path, ops in doc["paths"].items() for m, op in ops.items()}


def test_document_is_served_to_anyone_and_lists_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.0")
    for path in ("/metrics", "/metrics/{key}/records", "/reports/daily/{day}", "/export", "/sites"):
        assert path in doc["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"/static/apidoc/apidoc.js" in docs.data and b"http" not in docs.data


BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)


def test_the_reference_page_is_chinese_first_and_api_callers_keep_their_language(client):
    """/api/v1/docs is a page: Chinese whatever the browser's language, English with ?lang=en; a JSON caller
    under /api/ is still answered in its Accept-Language."""
    english_browser = {"Accept": BROWSER_ACCEPT, "Accept-Language": "en-US,en;q=0.9"}
    page = client.get("/api/v1/docs", headers=english_browser).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "API 参考" in page and '"body": "请求体(JSON)"' in page
    english = client.get("/api/v1/docs?lang=en", headers=english_browser).get_data(as_text=True)
    assert '<html lang="en">' in english and "API reference" in english
    for accept in ("*/*", "application/json", None):
        headers = {"Accept-Language": "en"} | ({"Accept": accept} if accept else {})
        refused = client.get("/api/v1/sites/1", headers=headers).get_json()
        assert refused["error"]["message"] == "Please sign in.", accept
    assert client.get("/api/v1/sites/1").get_json()["error"]["message"] != "Please sign in."


def test_document_is_valid_openapi_3(app):
    doc = document(app)
    try:
        from openapi_spec_validator import validate
    except ImportError:  # not installed: the OpenAPI 3.0 meta-schema schemathesis carries
        schemathesis.openapi.from_dict(doc).validate()
    else:
        validate(doc)
    ids = [op["operationId"] for op in _operations(doc).values()]
    assert len(ids) == len(set(ids))


def test_a_document_that_breaks_openapi_is_refused(app):
    """The validation above can fail: a parameter without its `in` is not OpenAPI."""
    doc = document(app)
    del doc["paths"]["/sites"]["get"]["parameters"][0]["in"]
    with pytest.raises(Exception, match='"name":"kind"'):
        schemathesis.openapi.from_dict(doc).validate()


def test_every_api_route_is_in_the_document_with_its_methods(app):
    routes = _routes(app)
    assert len(routes) >= 24
    assert set(_operations(document(app))) == set(routes)
    assert drift(app) == []


def test_documented_roles_are_the_policy_of_every_route(app):
    operations = _operations(document(app))
    compared = 0
    for (method, path), endpoint in _routes(app).items():
        op = operations[(method, path)]
        policy = policy_of(app, endpoint)
        assert policy, endpoint
        assert set(op["x-roles"]) == policy, (method, path)
        assert op["description"].startswith("Roles: ") and set(op["description"][7:].split(", ")) == policy
        assert ("security" in op) == ("anonymous" not in policy), (method, path)
        compared += 1
    assert compared == len(operations)


def test_roles_are_read_from_the_policy_not_restated(app, monkeypatch):
    view = app.view_functions["conflicts_api.list_conflicts"]
    monkeypatch.setattr(view, "allowed_roles", frozenset({"admin"}))
    assert _operations(document(app))[("GET", "/conflicts")]["x-roles"] == ["admin"]


def test_a_route_added_without_documentation_is_caught(app):
    """A fresh app with one more route that declares its policy but no operation: the check names it."""

    @app.post("/api/v1/sites/<id:site_id>/undocumented")
    @allow("admin")
    def undocumented(site_id: int):  # pragma: no cover - never called
        return ""

    assert drift(app) == ["POST /api/v1/sites/{site_id}/undocumented is not in the OpenAPI document"]
    assert "/sites/{site_id}/undocumented" not in document(app)["paths"]


def test_path_parameters_take_their_types_from_the_converters(app):
    operations = _operations(document(app))
    site_id = operations[("GET", "/sites/{site_id}")]["parameters"][0]
    assert site_id["in"] == "path" and site_id["required"] is True
    assert site_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    day = operations[("GET", "/reports/daily/{day}")]["parameters"][0]
    assert day["schema"]["type"] == "string" and day["schema"]["format"] == "date"
    upload = [
        p
        for p in operations[("PUT", "/sites/{site_id}/photos/{upload_id}")]["parameters"]
        if p["in"] == "path"
    ]
    assert [p["name"] for p in upload] == ["site_id", "upload_id"]


def test_the_site_filter_parser_reads_exactly_the_declared_parameters():
    args = Args({}, SITE_FILTERS)
    parse_site_query(args)
    assert args.read == {p.name for p in SITE_FILTERS}
    with pytest.raises(KeyError, match="not declared"):
        Args({"bogus": "1"}, SITE_FILTERS).get("bogus")


def test_the_site_filters_documented_are_the_ones_the_parser_reads(app):
    operations = _operations(document(app))
    names = [p.name for p in SITE_FILTERS]
    sites = operations[("GET", "/sites")]["parameters"]
    assert [p["name"] for p in sites] == names
    assert next(p for p in sites if p["name"] == "limit")["schema"]["maximum"] == 5000
    export = [p["name"] for p in operations[("GET", "/export")]["parameters"]]
    assert export == ["format", *names, "headers"]
    # enumerations: the keys of the vocabulary, read by any name
    subdistrict = next(p for p in sites if p["name"] == "subdistrict")
    assert subdistrict["schema"]["enum"] == ["shifo", "gouzhao", "shuangqiao", "fengyang", "wutong"]
    assert "石佛办事处" in subdistrict["description"]


def test_an_unknown_query_parameter_is_ignored_as_before(seeded_client):
    headers = bearer(token_for(seeded_client.application, "admin", "unknown"))
    plain = seeded_client.get("/api/v1/sites?limit=3", headers=headers)
    extra = seeded_client.get("/api/v1/sites?limit=3&bogus=1", headers=headers)
    assert plain.status_code == extra.status_code == 200
    assert plain.get_json() == extra.get_json()
    by_label = seeded_client.get("/api/v1/sites?limit=3&subdistrict=石佛", headers=headers)
    by_key = seeded_client.get("/api/v1/sites?limit=3&subdistrict=shifo", headers=headers)
    assert by_label.status_code == 200 and by_label.get_json() == by_key.get_json()


#: the helpers of recovery.web.params and the query parameters each reads
HELPERS = {
    "as_of_param": {AS_OF.name, DATE.name},
    "known_at_param": {KNOWN_AT.name},
    "subdistrict_param": {SUBDISTRICT.name},
    "parse_site_query": {p.name for p in SITE_FILTERS},
    "parse_filter": {p.name for p in WORK_ITEM_QUERY},
}


def _query_read_by(view) -> set[str]:
    """The query parameters a view's code reads: `request.args.get("x")`, `request.args["x"]`, and the helpers
    that read declared parameters."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(view)))):
        target = node.func if isinstance(node, ast.Call) else node
        if not isinstance(node, ast.Call):
            pass
        elif isinstance(target, ast.Name) and target.id in HELPERS:
            if target.id != "parse_site_query" or ast.unparse(node.args[0]) == "request.args":
                names |= HELPERS[target.id]
        elif (
            isinstance(target, ast.Attribute)
            and target.attr in ("get", "getlist")
            and ast.unparse(target.value) == "request.args"
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "request.args":
            names.add(node.slice.value)
    return names


def test_every_view_documents_the_query_parameters_it_reads(app):
    operations = _operations(document(app))
    checked = 0
    for (method, path), endpoint in _routes(app).items():
        documented = {p["name"] for p in operations[(method, path)]["parameters"] if p["in"] == "query"}
        assert _query_read_by(app.view_functions[endpoint]) == documented, (method, path)
        checked += bool(documented)
    assert checked >= 5


def test_the_analysis_sees_a_parameter_read_by_hand():
    def view():  # pragma: no cover - read, never called
        from flask import request

        return request.args.get("side"), request.args["version"]

    assert _query_read_by(view) == {"side", "version"}


BODIES = [
    (name, body) for name, body in vars(declared).items() if name.endswith("_BODY") and isinstance(body, Body)
]


def test_every_declared_body_is_documented_by_a_route(app):
    documented = [
        op["requestBody"]["content"]["application/json"]["schema"]
        for op in _operations(document(app)).values()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]
    assert len(BODIES) == 9
    for name, body in BODIES:
        assert body.schema() in documented, name


@pytest.mark.parametrize(("name", "body"), BODIES, ids=[name for name, _ in BODIES])
def test_a_body_is_refused_where_a_field_breaks_its_declaration(name, body):
    """Every declared field, given a value of the wrong JSON type, is refused (400) by the same declaration
    the document shows; a required field left out too."""
    wrong = {"string": 5, "integer": "x", "number": "x", "object": [1], "array": {"a": 1}, "boolean": "x"}
    for field in body.fields:
        bad = wrong[field.openapi()["type"]]
        with pytest.raises(ValidationError):
            body.read({field.name: bad})
        if field.required:
            with pytest.raises(ValidationError):
                body.read({})


def test_a_view_refuses_a_body_as_its_declaration_says(seeded_client):
    headers = bearer(token_for(seeded_client.application, "admin", "bodies"))
    response = seeded_client.post(
        "/api/v1/command/assign", json={"team_id": "1", "site_ids": [1]}, headers=headers
    )
    assert response.status_code == 400
    assert "team_id" in response.get_json()["error"]["message"]
    response = seeded_client.post(
        "/api/v1/command/supervise", json={"title": 5, "responsible_unit": "石佛"}, headers=headers
    )
    assert response.status_code == 400
    assert "title" in response.get_json()["error"]["message"]


@pytest.mark.slow  # 2.5 s on SQLite, 3.4 s on PostGIS
def test_api_fuzz(seeded_app):
    """Every GET operation, a few generated requests each: no 5xx, every response as documented."""
    headers = bearer(token_for(seeded_app, "admin", "fuzz"))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", seeded_app).include(method="GET")
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            # free-text parameters (dates, lists) are documented as strings, so a schema-valid request may still be
            # refused with 400: that is not a failure here; 5xx and responses off the document are
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
        checked += 1
    assert checked >= 10
