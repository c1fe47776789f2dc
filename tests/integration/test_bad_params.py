"""Hostile values in every place a request carries them — dates, numbers, ids in paths, text in queries and
headers, JSON bodies — are a 4xx with the app's error shape, never a 500 (issue 12, finding 12).

Each class is refused at one place: dates by `recovery.timeutil`, whole numbers by `recovery.numbers` and the
URL converters, NUL in the address, query, headers and forms by `recovery.web.params.refuse_unstorable_text`,
and JSON by `recovery.jsondoc`. The table holds every endpoint that takes such input, on both databases
(PostgreSQL refuses NUL in text and 32-bit ids beyond 2^31; SQLite cannot bind an int from 2^63).
"""

from __future__ import annotations

import re

import pytest
from support.accounts import auth, login, signed_in
from support.databases import BACKENDS, module_app

BIG = 2**63  # beyond SQLite's integer
BIG32 = 2**31  # beyond PostgreSQL's integer, and the app's ids
HUGE = "9" * 30

BAD_DAYS = ["9999-12-31", "0001-01-01"]
BAD_INSTANTS = ["9999-12-31", "0001-01-01T00:00:00%2B14:00", "9999-12-31T23:00:00-05:00", "2060-01-01T00:00"]
BAD_NUMBERS = ["²", "٣", str(BIG), str(BIG32), HUGE, "-1", "1e3"]
BAD_IDS = [str(BIG), str(BIG32), HUGE]
BAD_TEXT = ["%00", "a%00b"]
POLYGON = "%7B%22type%22%3A%22Polygon%22%2C%22coordinates%22%3A%5B%5B%5B113.5%2C34.8%5D%2C%5B113.6%2C34.8%5D%2C%5B113.6%2C34.9%5D%2C%5B113.5%2C34.8%5D%5D%5D%7D"  # noqa: E501

GETS = (
    [(p, v) for p in ("/?date={}", "/map?date={}", "/map/clusters?date={}") for v in BAD_DAYS]
    + [(f"/map/selection?polygon={POLYGON}&date={{}}", v) for v in BAD_DAYS]
    + [
        (p, v)
        for p in ("/api/v1/reports/daily/{}", "/reports/daily/{}", "/reports/daily/{}.json")
        for v in BAD_DAYS
    ]
    + [
        (p, v)
        for p in (
            "/api/v1/metrics?as_of={}",
            "/api/v1/metrics?known_at={}",
            "/api/v1/metrics/road_collapse_total/records?as_of={}",
            "/api/v1/reports/daily/2021-07-29?known_at={}",
            "/reports/daily/2021-07-29?known_at={}",
            "/reports/daily/2021-07-29/records/road_collapse_total?known_at={}",
            "/api/v1/export?as_of={}",
            "/ogc/collections/road_collapse/items?datetime={}",
            "/ogc/collections/road_collapse/items?datetime=../{}",
            "/ogc/collections/road_collapse/items/RC-0001?datetime={}",
        )
        for v in BAD_INSTANTS
    ]
    + [
        (p, v)
        for p in (
            "/api/v1/sites?limit={}",
            "/api/v1/sites?offset={}",
            "/map/clusters?z={}",
            "/map/clusters?team={}",
            "/ogc/collections/road_collapse/items?limit={}",
            "/ogc/collections/road_collapse/items?offset={}",
            "/api/v1/reports/daily/2021-07-29?version={}",
        )
        for v in BAD_NUMBERS
    ]
    + [
        (p, v)
        for p in (
            "/api/v1/sites/{}",
            "/api/v1/photos/{}",
            "/api/v1/photos/{}/thumb",
            "/api/v1/sites/{}/photos/upload-1",
            "/reports/daily/2021-07-29/published/{}.json",
        )
        for v in BAD_IDS
    ]
    + [
        (p, v)
        for p in (
            "/map/clusters?q={}",
            "/map/selection?polygon={}",
            "/api/v1/sites?status={}",
            "/api/v1/sites?kind={}",
            "/api/v1/sites?subdistrict={}",
            "/api/v1/export?status={}",
            "/api/v1/export?kind={}",
            "/api/v1/metrics/{}/records",
            "/api/v1/sites/1/photos/{}",
            "/ogc/collections/{}/items",
            "/ogc/collections/road_collapse/items/{}",
            "/ogc/collections/road_collapse/items?status={}",
            "/reports/daily/2021-07-29/records/{}",
            "/reports/daily/2021-07-29/table/road_collapse/total?subdistrict={}",
            "/reports/daily/2021-07-29?at={}",
            "/admin/import/{}",
            "/?lang={}&date={}",
        )
        for v in BAD_TEXT
    ]
)

#: JSON bodies no endpoint may crash on, whatever it expects
BAD_BODIES = [
    "[" * 100_000,
    '{"a":' * 100_000,
    '{"a":' + "[" * 70 + "]" * 70 + "}",  # deeper than recovery.jsondoc.MAX_DEPTH
    '{"status": NaN, "decision": NaN}',
    '{"status": Infinity}',
    '{"measures": {"silt_m3": 1e400}}',
    f'{{"team_id": {BIG}, "site_id": {BIG}}}',
    '{"note": "a\\u0000b", "status": "x\\u0000"}',
    '{"note": "\\ud800", "title": "\\udfff"}',
    '{"\\u0000": 1}',
    "not json",
    "\udcff\udcfe",  # bytes that are not UTF-8 (sent as latin-1 below)
    "",
]

#: the JSON endpoints: path, headers a valid call needs
JSON_ENDPOINTS = [
    ("/api/v1/sites/1/events", {"If-Match": '"1"'}),
    ("/api/v1/sites/1/check-in", {}),
    ("/api/v1/sites", {}),
    ("/api/v1/command/assign", {}),
    ("/api/v1/command/supervise", {}),
    ("/api/v1/conflicts/1", {}),
]

SITE = {
    "kind": "road_collapse",
    "name": "枫杨街新塌陷点",
    "attributes": {"road_class": "main"},
    "position": {"lon": 113.5918, "lat": 34.8135, "crs": "wgs84"},
}

#: otherwise valid bodies with one hostile field: path, headers, body
BAD_FIELDS = (
    [
        ("/api/v1/sites/1/events", {"If-Match": '"1"'}, {"status": "reported", "valid_at": v})
        for v in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00")
    ]
    + [
        ("/api/v1/sites/1/events", {"If-Match": v}, {"status": "reported"})
        for v in (str(BIG), f'"{BIG}"', "²", HUGE)
    ]
    + [
        ("/api/v1/sites", {}, {**SITE, **field})
        for field in (
            {"name": "a\u0000b"},
            {"address": "\u0000"},
            {"attributes": {"road_class": "\u0000"}},
            {"priority": BIG},
            {"priority": BIG32},
            {"kind": "road\u0000"},
        )
    ]
    + [
        ("/api/v1/command/assign", {}, body)
        for body in (
            {"team_id": BIG, "site_ids": [1]},
            {"team_id": BIG32, "site_ids": [1]},
            {"team_id": 1, "site_ids": [BIG32]},
            {"team_id": 1, "site_ids": [1], "deadline": "9999-12-31"},
            {"team_id": 1, "site_ids": [1], "deadline": "0001-01-01"},
            {"team_id": 1, "filter": {"date": "9999-12-31"}},
            {"team_id": 1, "filter": {"team": str(BIG)}},
            {"team_id": 1, "filter": {"team": "²"}},
            {"team_id": 1, "filter": {"q": "\u0000"}},
        )
    ]
    + [
        ("/api/v1/command/supervise", {}, body)
        for body in (
            {"site_id": BIG, "title": "x", "responsible_unit": "沟赵办事处"},
            {"site_id": BIG32, "title": "x", "responsible_unit": "沟赵办事处"},
            {"title": "x\u0000", "responsible_unit": "沟赵办事处"},
            {"title": "x", "responsible_unit": "\u0000"},
        )
    ]
)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_app(request, tmp_path_factory):
    """Every request here is refused before it changes anything, so one database per backend serves them all."""
    yield from module_app(request, tmp_path_factory)


@pytest.fixture(scope="module")
def page_client(shared_app):
    return signed_in(shared_app, "admin")


def assert_refused(response, api: bool) -> None:
    """A 4xx in the app's error shape: the JSON error under /api, the HTML error page elsewhere."""
    text = response.get_data(as_text=True)
    response.close()
    assert 400 <= response.status_code < 500, (response.status_code, text[:500])
    if api:
        error = response.get_json()["error"]
        assert error["status"] == response.status_code and error["message"] and error["code"]
    else:
        assert response.mimetype == "text/html" and f"<h1>{response.status_code}</h1>" in text


@pytest.mark.parametrize(("path", "value"), GETS)
def test_hostile_query_and_path_values_are_refused(shared_app, page_client, path, value):
    url = path.replace("{}", value)
    api = url.startswith("/api/")
    client = shared_app.test_client() if api else page_client
    assert_refused(client.get(url, headers=auth("admin") if api else {}), api)


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: repr(b[:24]))
@pytest.mark.parametrize(("path", "headers"), JSON_ENDPOINTS)
def test_hostile_json_bodies_are_refused(shared_app, path, headers, body):
    data = body.encode("utf-8", "surrogateescape") if "\udcff" in body else body.encode()
    response = shared_app.test_client().post(
        path, data=data, headers={**auth("admin"), **headers, "Content-Type": "application/json"}
    )
    assert_refused(response, api=True)


@pytest.mark.parametrize(("path", "headers", "body"), BAD_FIELDS, ids=lambda v: repr(v)[:40])
def test_hostile_fields_in_valid_bodies_are_refused(shared_app, path, headers, body):
    response = shared_app.test_client().post(path, json=body, headers={**auth("admin"), **headers})
    assert_refused(response, api=True)


@pytest.mark.parametrize("upload_id", ["abc\u0000defgh", "\u0000" * 8])
def test_a_nul_in_a_header_is_refused(shared_app, upload_id):
    response = shared_app.test_client().post(
        "/api/v1/sites/1/photos", data=b"\xff\xd8\xff", headers={**auth("admin"), "Upload-Id": upload_id}
    )
    assert_refused(response, api=True)


@pytest.mark.parametrize("username", ["admin\u0000", "\u0000"])
def test_a_nul_in_a_form_field_is_refused(shared_app, username):
    assert_refused(
        login(shared_app.test_client(), username), api=False
    )  # the sign-in form, CSRF token and all


def test_the_bounds_are_the_databases_own():
    """The id bound is PostgreSQL's `integer`; JSON's is I-JSON's, well inside SQLite's 2^63."""
    from recovery.jsondoc import MAX_SAFE_INT
    from recovery.numbers import MAX_INT
    from recovery.web.converters import _ID_PATTERN, MAX_ID

    assert MAX_ID == MAX_INT == BIG32 - 1 and MAX_SAFE_INT < BIG
    assert re.fullmatch(_ID_PATTERN, str(MAX_ID)) and not re.fullmatch(_ID_PATTERN, str(MAX_ID + 1))
