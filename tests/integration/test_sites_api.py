"""The field API's contract: versions (If-Match), retries (Idempotency-Key), scope, and refusals of bad input."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select
from support.accounts import auth
from support.databases import db, fingerprint
from support.sites import new_site, post_event

from recovery.ledger.bulk import verify
from recovery.models import Event, Site


@pytest.fixture
def fengyang_point(geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    return {"lon": point.x, "lat": point.y, "crs": "wgs84"}


def test_report_read_update_with_etag(client, fengyang_point):
    site = new_site(client, position=fengyang_point)
    props = site["properties"]
    assert props["subdistrict"] == "fengyang" and props["status"] == "reported" and props["version"] == 1
    got = client.get(f"/api/v1/sites/{props['id']}", headers=auth("field"))
    assert got.headers["ETag"] == '"1"'
    changed = post_event(client, props["id"], {"status": "secured", "note": "已围挡"}, version=1)
    assert changed.status_code == 201 and changed.headers["ETag"] == '"2"'
    assert changed.get_json()["site"]["properties"]["status_label"] == "已围挡"


def test_stale_version_gets_412_and_changes_nothing(app, client, fengyang_point):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    assert post_event(client, site_id, {"status": "secured"}, version=1).status_code == 201
    with db(app) as session:
        before = fingerprint(session)
    stale = post_event(client, site_id, {"status": "repairing"}, version=1)
    assert stale.status_code == 412 and stale.get_json()["error"]["code"] == "stale_version"
    with db(app) as session:
        assert fingerprint(session) == before


def test_missing_if_match_gets_428(client, fengyang_point):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    response = post_event(client, site_id, {"status": "secured"})
    assert response.status_code == 428 and response.get_json()["error"]["code"] == "if_match_required"


def test_idempotent_replay_returns_the_original_response(app, client, fengyang_point):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    key = uuid.uuid4().hex
    first = post_event(client, site_id, {"status": "secured", "note": "一次"}, version=1, key=key)
    with db(app) as session:
        before = fingerprint(session)
    # the retry still carries the old If-Match: it is answered from the record, not refused as stale
    again = post_event(client, site_id, {"status": "secured", "note": "一次"}, version=1, key=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    with db(app) as session:
        assert fingerprint(session) == before
    other = post_event(client, site_id, {"status": "secured", "note": "另一次"}, version=1, key=key)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_conflict"
    with db(app) as session:
        assert fingerprint(session) == before


def test_new_site_is_idempotent_too(app, client, fengyang_point):
    key = uuid.uuid4().hex
    body = {"kind": "silt_site", "name": "地下车库", "position": fengyang_point}
    first = client.post("/api/v1/sites", json=body, headers={**auth("field"), "Idempotency-Key": key})
    again = client.post("/api/v1/sites", json=body, headers={**auth("field"), "Idempotency-Key": key})
    assert first.get_json() == again.get_json()
    with db(app) as session:
        assert session.scalar(select(func.count()).select_from(Site)) == 1


@pytest.mark.parametrize(
    ("who", "status"),
    [("field_shifo", 403), ("reporter", 403), ("commander", 201), ("admin", 201), (None, 401)],
)
def test_who_may_change_a_fengyang_site(client, fengyang_point, who, status):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    headers = {"If-Match": '"1"', **(auth(who) if who else {})}
    response = client.post(f"/api/v1/sites/{site_id}/events", json={"status": "secured"}, headers=headers)
    assert response.status_code == status
    if status == 201:
        assert "error" not in response.get_json()
    else:
        assert response.get_json()["error"]["status"] == status and response.get_json()["error"]["message"]


def test_field_user_cannot_report_outside_their_scope(client, geodata):
    point = geodata.subdistrict("wutong").geometry.representative_point()
    response = client.post(
        "/api/v1/sites",
        headers=auth("field"),
        json={"kind": "silt_site", "name": "越界", "position": {"lon": point.x, "lat": point.y}},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "secured", "position": {"lon": float("nan"), "lat": 34.8}}, 400),
        ({"status": "secured", "position": {"lon": "113.59", "lat": 34.81}}, 400),
        ({"status": "secured", "position": {"lon": 113.59, "lat": 134.81}}, 400),
        ({"status": "secured", "position": {"lon": 34.8135, "lat": 113.5918}}, 400),
        ({"status": "secured", "position": {"lon": 113.59, "lat": 34.81, "crs": "utm"}}, 400),
        ({"status": "flying"}, 400),
        ({"status": "restored"}, 201),
        ({"status": "reported"}, 409),
        ({"note": "no status"}, 400),
        ({"status": "secured", "measures": {"silt_m3": 5}}, 400),
        ({"status": "secured", "measures": "lots"}, 400),
        ({"status": "secured", "valid_at": "yesterday"}, 400),
        ({"status": "secured", "valid_at": "2999-01-01T00:00:00+08:00"}, 400),
        ({"status": "secured", "note": "x" * 3000}, 400),
    ],
)
def test_bad_event_bodies_are_refused_and_change_nothing(app, client, fengyang_point, body, status):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    with db(app) as session:
        before = fingerprint(session)
    response = post_event(client, site_id, body, version=1)
    assert response.status_code == status, response.get_json()
    if status >= 400:
        assert response.get_json()["error"]["message"]
        with db(app) as session:
            assert fingerprint(session) == before


def test_swapped_coordinates_are_named_as_such(client, fengyang_point):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    response = post_event(
        client,
        site_id,
        {"status": "secured", "position": {"lon": 34.8135, "lat": 113.5918}},
        version=1,
        **{"Accept-Language": "en"},
    )
    assert "swapped" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (json.dumps({"status": "secured", "note": "x" * 400_000}).encode(), "application/json", 413),
    ],
)
def test_malformed_and_oversized_bodies(app, client, fengyang_point, data, content_type, status):
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    with db(app) as session:
        before = fingerprint(session)
    response = client.post(
        f"/api/v1/sites/{site_id}/events",
        data=data,
        content_type=content_type,
        headers={**auth("field"), "If-Match": '"1"'},
    )
    assert response.status_code == status and response.get_json()["error"]["message"]
    with db(app) as session:
        assert fingerprint(session) == before


def test_unknown_site_is_404(client):
    response = post_event(client, 987654, {"status": "secured"}, version=1)
    assert response.status_code == 404


def test_gcj02_position_is_converted_and_kept(app, client, fengyang_point):
    from recovery.coords import from_wgs84

    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    lon, lat = from_wgs84(fengyang_point["lon"], fengyang_point["lat"], "gcj02")
    response = post_event(
        client,
        site_id,
        {"status": "secured", "position": {"lon": lon, "lat": lat, "crs": "gcj02"}},
        version=1,
    )
    assert response.status_code == 201
    with db(app) as session:
        event = session.scalars(
            select(Event).where(Event.site_id == site_id).order_by(Event.id.desc())
        ).first()
    assert event.position_lon == pytest.approx(fengyang_point["lon"], abs=1e-5)
    assert event.position_lat == pytest.approx(fengyang_point["lat"], abs=1e-5)
    assert event.details["position"]["crs"] == "gcj02"


def test_edit_made_before_closure_never_reopens_the_site(app, client, fengyang_point):
    site_id = new_site(client, position=fengyang_point, valid_at="2021-07-21T08:00:00+08:00")["properties"][
        "id"
    ]
    # the commander's crew: passable at 09:00, restored at 12:00
    for version, (status, at) in enumerate((("passable", "09:00"), ("restored", "12:00")), start=1):
        response = post_event(
            client,
            site_id,
            {"status": status, "valid_at": f"2021-07-21T{at}:00+08:00"},
            who="commander",
            version=version,
        )
        assert response.status_code == 201
    # a field user, offline since morning, had marked it "repairing" at 10:00: it does not fit after "passable"
    late = post_event(
        client, site_id, {"status": "repairing", "valid_at": "2021-07-21T10:00:00+08:00"}, version=3
    )
    assert late.status_code == 202 and late.get_json()["flagged"] == "after_close"
    site = client.get(f"/api/v1/sites/{site_id}", headers=auth("field")).get_json()
    assert site["properties"]["status"] == "restored" and site["properties"]["version"] == 3
    assert [h["flag"] for h in site["properties"]["history"]] == [None, None, "after_close", None]
    conflicts = client.get("/api/v1/conflicts", headers=auth("commander")).get_json()
    assert conflicts["count"] == 1
    assert client.get("/api/v1/conflicts", headers=auth("field")).status_code == 403
    event_id = conflicts["conflicts"][0]["event"]["id"]
    decided = client.post(
        f"/api/v1/conflicts/{event_id}", json={"decision": "apply"}, headers=auth("commander")
    )
    assert decided.status_code == 201
    # placed at 10:00, where it happened, by a commander, on record: the site stays restored since 12:00
    assert decided.get_json()["event"]["valid_at"].startswith("2021-07-21T10:00")
    assert decided.get_json()["site"]["properties"]["status"] == "restored"
    assert client.get("/api/v1/conflicts", headers=auth("commander")).get_json()["count"] == 0
    again = client.post(
        f"/api/v1/conflicts/{event_id}", json={"decision": "dismiss"}, headers=auth("commander")
    )
    assert again.status_code == 400
    with db(app) as session:
        assert verify(session) == []


def test_edit_made_before_closure_that_fits_is_placed_in_history(client, fengyang_point):
    site_id = new_site(client, position=fengyang_point, valid_at="2021-07-21T08:00:00+08:00")["properties"][
        "id"
    ]
    post_event(
        client,
        site_id,
        {"status": "restored", "valid_at": "2021-07-21T12:00:00+08:00"},
        who="commander",
        version=1,
    )
    late = post_event(
        client, site_id, {"status": "secured", "valid_at": "2021-07-21T10:00:00+08:00"}, version=2
    )
    assert late.status_code == 201 and late.get_json()["flagged"] is None
    props = client.get(f"/api/v1/sites/{site_id}", headers=auth("field")).get_json()["properties"]
    assert props["status"] == "restored"
    assert [h["to_status"] for h in props["history"]] == ["reported", "secured", "restored"]


def test_sites_list_filters_and_bbox(seeded_client):
    headers = auth("commander")
    all_rc = seeded_client.get("/api/v1/sites?kind=road_collapse&limit=5000", headers=headers).get_json()
    assert all_rc["numberMatched"] == 236 == len(all_rc["features"])
    box = "113.55,34.80,113.58,34.83"
    inside = seeded_client.get(f"/api/v1/sites?kind=road_collapse&bbox={box}&limit=5000", headers=headers)
    ids = {f["id"] for f in inside.get_json()["features"]}
    expected = set()
    for f in all_rc["features"]:
        x, y = (
            f["geometry"]["coordinates"][:2]
            if f["geometry"]["type"] == "Point"
            else f["geometry"]["coordinates"][0]
        )
        if f["geometry"]["type"] == "Point" and 113.55 <= x <= 113.58 and 34.80 <= y <= 34.83:
            expected.add(f["id"])
    assert expected and expected <= ids
    for bad in ("bbox=1,2,3", "bbox=a,b,c,d", "kind=volcano", "subdistrict=atlantis", "limit=0", "near=1"):
        assert seeded_client.get(f"/api/v1/sites?{bad}", headers=headers).status_code == 400, bad


def test_my_sites_most_urgent_first(client, geodata):
    for road_class, name in (("branch", "支路"), ("main", "主干道"), ("secondary", "次干道")):
        point = geodata.subdistrict("fengyang").geometry.representative_point()
        new_site(
            client,
            name=name,
            attributes={"road_class": road_class},
            position={"lon": point.x, "lat": point.y},
        )
    mine = client.get("/api/v1/sites?mine=1", headers=auth("field")).get_json()
    assert [f["properties"]["name"] for f in mine["features"]] == ["主干道", "次干道", "支路"]
    assert client.get("/api/v1/sites?mine=1", headers=auth("field_shifo")).get_json()["features"] == []


def test_user_text_is_returned_as_data(client, fengyang_point):
    site = new_site(client, position=fengyang_point, name="<img src=x onerror=alert(1)>")
    assert site["properties"]["name"] == "<img src=x onerror=alert(1)>"


def test_long_idempotency_keys_that_differ_only_at_the_end_are_two_changes(app, client, fengyang_point):
    """The ledger's client id is derived from the key; a key too long for its column is hashed, never cut."""
    site_id = new_site(client, position=fengyang_point)["properties"]["id"]
    keys = ["k" * 199 + "1", "k" * 199 + "2"]
    first = post_event(client, site_id, {"status": "secured", "note": "一"}, version=1, key=keys[0])
    second = post_event(client, site_id, {"status": "repairing", "note": "二"}, version=2, key=keys[1])
    assert (first.status_code, second.status_code) == (201, 201), second.get_json()
    assert first.get_json()["event"]["id"] != second.get_json()["event"]["id"]
    with db(app) as session:
        client_ids = session.scalars(select(Event.client_id).where(Event.client_id.is_not(None))).all()
    assert len(set(client_ids)) == 3 and all(len(c) <= 100 for c in client_ids)


def test_a_client_event_id_longer_than_its_column_is_refused(app, fengyang_point):
    from recovery.errors import ValidationError
    from recovery.ledger.record import record_site_event
    from recovery.timeutil import now

    site_id = new_site(app.test_client(), position=fengyang_point)["properties"]["id"]
    with db(app) as session, pytest.raises(ValidationError):
        record_site_event(session, site_id, action="note", actor="测试", valid_at=now(), client_id="c" * 101)
