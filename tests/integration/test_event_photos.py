"""An event's photos are uploads that exist: finished, by the same user, of the same site. Anything else (an
unknown id, someone else's upload, a half-sent one, another site's, arbitrary text) is a 400 that stores
nothing."""

from __future__ import annotations

import uuid

import pytest
from support.databases import db, fingerprint
from support.photos import jpeg_bytes, put_chunk
from support.sites import new_site, post_event


@pytest.fixture
def sites(client, geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    return [
        new_site(client, position={"lon": point.x + dx, "lat": point.y})["properties"]["id"]
        for dx in (0, 1e-4)
    ]


def _upload(client, site_id, who="field", whole=True) -> str:
    upload_id = f"{who}-{uuid.uuid4().hex}"
    photo = jpeg_bytes()
    sent = photo if whole else photo[:100]
    response = put_chunk(client, site_id, upload_id, sent, 0, len(photo), who=who)
    assert response.status_code == (201 if whole else 200), response.get_json()
    return upload_id


def test_own_finished_uploads_of_the_site_are_attached(client, sites):
    first, second = _upload(client, sites[0]), _upload(client, sites[0])
    response = post_event(
        client, sites[0], {"status": "secured", "photos": [first, second, first]}, version=1
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["event"]["photos"] == [first, second]  # a repeated id is one photo


@pytest.mark.parametrize(
    "case",
    [
        "unknown",
        "arbitrary text",
        "path",
        "someone else's",
        "half sent",
        "another site's",
        "too many",
    ],
)
def test_photos_that_are_not_usable_uploads_are_refused(app, client, sites, case):
    site_id = sites[0]
    photos = {
        "unknown": lambda: ["field-" + uuid.uuid4().hex],
        "arbitrary text": lambda: ["<img src=x onerror=alert(1)>"],
        "path": lambda: ["../../instance/recovery.sqlite3"],
        "someone else's": lambda: [_upload(client, site_id, who="commander")],
        "half sent": lambda: [_upload(client, site_id, whole=False)],
        "another site's": lambda: [_upload(client, sites[1])],
        "too many": lambda: [_upload(client, site_id)] + [f"field-{i:030d}" for i in range(20)],
    }[case]()
    with db(app) as session:
        before = fingerprint(session)
    response = post_event(client, site_id, {"status": "secured", "photos": photos}, version=1)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_input"
    with db(app) as session:
        assert fingerprint(session) == before


def test_a_commander_attaches_only_their_own_uploads_too(client, sites):
    theirs = _upload(client, sites[0])
    mine = _upload(client, sites[0], who="commander")
    refused = post_event(
        client, sites[0], {"status": "secured", "photos": [theirs]}, version=1, who="commander"
    )
    assert refused.status_code == 400
    ok = post_event(client, sites[0], {"status": "secured", "photos": [mine]}, version=1, who="commander")
    assert ok.status_code == 201 and ok.get_json()["event"]["photos"] == [mine]
