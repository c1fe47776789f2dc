"""The OpenAPI document of /api/v1: served to anyone, valid, and schemathesis finds no 5xx and no response that
breaks it (GET operations, signed in as an admin; a few examples each to stay quick)."""

from __future__ import annotations

import re

import schemathesis
from hypothesis import HealthCheck, given, settings
from interop_helpers import bearer, token_for
from schemathesis.specs.openapi.checks import positive_data_acceptance

from recovery.web.openapi import OPERATIONS
from recovery.web.policy import policy_of


def test_document_is_served_to_anyone_and_lists_the_api(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.0")
    for path in ("/metrics", "/metrics/{key}/records", "/reports/daily/{day}", "/export", "/sites"):
        assert path in doc["paths"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"/static/apidoc/apidoc.js" in docs.data and b"http" not in docs.data


def test_every_api_route_is_documented_with_its_roles(app):
    """Every route under /api/v1 (but the docs page) is in the document, with the roles that may call it."""
    documented = {(op.method.upper(), "/api/v1" + op.path): op for op in OPERATIONS}
    seen = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint == "openapi.docs":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {path} is not in the OpenAPI document"
            assert policy_of(app, rule.endpoint) == frozenset(documented[method, path].roles), path
            seen.add((method, path))
    assert seen == set(documented)


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
