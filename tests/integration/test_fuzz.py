"""Property-based fuzzing: no input a caller can send makes the app answer 500.

Two generators, both on SQLite and PostgreSQL: schemathesis over every operation of the OpenAPI document
(reads and writes, signed in), and Hypothesis over the JSON bodies and the query parameters of the API and the
pages, with the values that broke the app before: far dates, numbers past 2^63, lone surrogates, NUL bytes,
deeply nested arrays, bidirectional overrides, empty values where a value is required.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from support.accounts import auth, login

pytestmark = pytest.mark.slow

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)

#: values that broke one endpoint or another before
HOSTILE_TEXT = [
    "",
    " ",
    "0",
    "-1",
    "9999-12-31",
    "0001-01-01",
    "2060-01-01",
    "2021-02-30",
    "2021-07-29T25:00:00",
    "1e309",
    "nan",
    "inf",
    str(2**63),
    str(-(2**63) - 1),
    str(10**40),
    "\ud800",
    "a\x00b",
    "\u202eevil",
    "\u200b",
    "a\r\nb",
    "[" * 1000,
    "'; DROP TABLE site; --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "/vsicurl/http://127.0.0.1:9/x",
    "113.6,34.8,113.5,34.7",
    "113.6,34.8",
    "shifo,bogus",
    "石佛",
    "x" * 5000,
]
HOSTILE_NUMBERS = [0, -1, 1, 2**31, 2**63, 2**64, -(2**63) - 1, 10**40, 1.5, float("inf")]

hostile_scalar = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_NUMBERS),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
hostile_json = st.recursive(
    hostile_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(HOSTILE_TEXT[:8]), inner, max_size=3)
    ),
    max_leaves=12,
)

#: the fields each JSON body reads, so that generated bodies reach past the first check
BODY_FIELDS = {
    "/api/v1/sites": ["kind", "name", "address", "geometry", "attributes", "priority", "note", "position"],
    "/api/v1/sites/{site}/events": [
        "action",
        "status",
        "track",
        "measures",
        "note",
        "valid_at",
        "position",
        "photos",
    ],
    "/api/v1/sites/{site}/check-in": ["note", "valid_at", "position"],
    "/api/v1/conflicts/1": ["decision", "note"],
    "/api/v1/command/assign": ["site_ids", "filter", "polygon", "team_id", "deadline"],
    "/api/v1/command/supervise": ["title", "responsible_unit", "severity", "site_id"],
}
#: GET addresses with the query parameters they read
QUERIES = {
    "/": ["date", "lang"],
    "/map": ["date", "kind", "status", "subdistrict"],
    "/map/clusters": ["date", "bbox", "zoom", "kind", "status", "subdistrict", "overdue", "team", "q"],
    "/map/selection": ["date", "polygon", "kind", "status"],
    "/reports/daily/2021-07-29": ["at", "known_at", "lang"],
    "/reports/daily/2021-07-29/records/road_collapse_handled": ["known_at", "side", "subdistrict"],
    "/ogc/collections/road_collapse/items": ["limit", "offset", "bbox", "datetime", "f"],
    "/api/v1/metrics": ["as_of", "known_at", "subdistrict", "date"],
    "/api/v1/sites": ["kind", "status", "subdistrict", "bbox", "limit", "offset", "near", "crs", "mine"],
    "/api/v1/export": ["format", "kind", "status", "subdistrict", "bbox", "as_of", "headers"],
}


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _ok(response, what) -> None:
    try:
        response.get_data()
    finally:
        response.close()
    assert response.status_code < 500, (what, response.status_code)


def test_schemathesis_finds_no_server_error_in_any_operation(seeded_app):
    """Every operation of the document, reads and writes, as an admin: no 5xx whatever the input."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", seeded_app)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/reports/daily/{day}/publish":
            continue  # each call freezes a report: fuzzed below with bodies instead of hundreds of times

        @FUZZ
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=auth("admin"), checks=[not_a_server_error])

        check()
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("path", sorted(BODY_FIELDS))
def test_hostile_json_bodies_get_4xx(seeded_app, path):
    client = seeded_app.test_client()
    url = path.replace("{site}", "1")
    fields = BODY_FIELDS[path]

    @FUZZ
    @given(
        body=st.dictionaries(st.sampled_from(fields), hostile_json, max_size=len(fields)), raw=hostile_json
    )
    def check(body, raw):
        for payload in (body, raw):
            data = json.dumps(payload, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
            headers = {**auth("commander"), "Content-Type": "application/json", "If-Match": '"1"'}
            _ok(client.post(url, data=data, headers=headers), (url, payload))

    check()


def test_malformed_json_bodies_get_4xx(seeded_client):
    bodies = [b"[" * 100_000, b"{" * 50_000, b"\xff\xfe", b'{"a": NaN}', b'{"note": "\\ud800"}', b"", b"null"]
    for body in bodies:
        response = seeded_client.post(
            "/api/v1/sites/1/events",
            data=body,
            headers={**auth("commander"), "Content-Type": "application/json", "If-Match": '"1"'},
        )
        _ok(response, body[:20])
        assert response.status_code in (400, 413, 415, 428), (body[:20], response.status_code)


@pytest.mark.parametrize("path", sorted(QUERIES))
def test_hostile_query_parameters_get_4xx(seeded_app, path):
    client = seeded_app.test_client()
    login(client, "commander")
    names = QUERIES[path]

    @FUZZ
    @given(params=st.dictionaries(st.sampled_from(names), hostile_scalar, min_size=1, max_size=3))
    def check(params):
        query = {name: _text(value) for name, value in params.items()}
        # a lone surrogate cannot be sent in a URL as UTF-8: send its bytes the way a hostile client would
        query = {k: v.encode("utf-8", "surrogatepass").decode("latin-1") for k, v in query.items()}
        headers = auth("commander") if path.startswith("/api/") else {}
        _ok(client.get(path, query_string=query, headers=headers), (path, params))

    check()
