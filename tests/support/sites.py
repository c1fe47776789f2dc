"""Sites through the field API as the tests make them: a new road collapse, an event posted to a site."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from recovery.models import Site
from support.accounts import auth
from support.databases import db


def new_site(client, who="field", **extra):
    """Report an open road collapse in the field user's sub-district (fengyang) and return its feature."""
    body = {
        "kind": "road_collapse",
        "name": "枫杨街新塌陷点",
        "attributes": {"road_class": "main"},
        "position": {"lon": 113.5918, "lat": 34.8135, "crs": "wgs84"},
        **extra,
    }
    response = client.post(
        "/api/v1/sites", json=body, headers={**auth(who), "Idempotency-Key": uuid.uuid4().hex}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["site"]


def post_event(client, site_id, body, *, who="field", version=None, key=None, **headers):
    """POST an event to a site as `who`, with If-Match when `version` is given and an Idempotency-Key when
    `key` is."""
    h = {**auth(who), **headers}
    if version is not None:
        h["If-Match"] = f'"{version}"'
    if key:
        h["Idempotency-Key"] = key
    return client.post(f"/api/v1/sites/{site_id}/events", json=body, headers=h)


def site_keys(app) -> set[str]:
    """The keys of every site stored in the app's database."""
    with db(app) as session:
        return set(session.scalars(select(Site.key)))
