"""A relapse: a worker reports that a finished site failed again. It is stored flagged (not applied), waits in the
commander's queue, and the commander's decision reopens the site or keeps it finished, on record either way."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from support.accounts import auth
from support.databases import db
from support.sites import new_site, post_event

from recovery.models import Event

RESTORED_AT = "2021-07-29T10:00:00+08:00"


@pytest.fixture
def fengyang_point(geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    return {"lon": point.x, "lat": point.y, "crs": "wgs84"}


def restored_collapse(client, point) -> int:
    """A collapse point in the field user's sub-district, reported on 23 July and restored on 29 July."""
    site_id = new_site(client, position=point, valid_at="2021-07-23T08:00:00+08:00")["properties"]["id"]
    response = post_event(client, site_id, {"status": "restored", "valid_at": RESTORED_AT}, version=1)
    assert response.status_code == 201, response.get_json()
    return site_id


def relapse(client, site_id, body, *, who="field", key=None):
    headers = {**auth(who), "Idempotency-Key": key or uuid.uuid4().hex}
    return client.post(f"/api/v1/sites/{site_id}/relapse", json=body, headers=headers)


def site(client, site_id):
    return client.get(f"/api/v1/sites/{site_id}", headers=auth("commander")).get_json()["properties"]


def event_count(app) -> int:
    with db(app) as session:
        return session.scalar(select(func.count()).select_from(Event))


def queue(client):
    response = client.get("/api/v1/conflicts", headers=auth("commander"))
    assert response.status_code == 200
    return response.get_json()["conflicts"]


def test_a_relapse_is_held_for_a_commander_and_applying_it_reopens_the_site(app, client, fengyang_point):
    site_id = restored_collapse(client, fengyang_point)
    before = site(client, site_id)
    body = {"note": "路面再次下沉", "valid_at": "2021-08-02T09:00:00+08:00", "position": fengyang_point}

    response = relapse(client, site_id, body)

    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["flagged"] == "relapse"
    assert "指挥" in answer["message"]  # said in the user's language: a commander decides
    after = site(client, site_id)
    # not applied: the site stays finished, at the same version
    assert (after["status"], after["version"]) == ("restored", before["version"])
    held = [h for h in after["history"] if h["flag"]]
    assert [(h["action"], h["to_status"], h["flag"], h["note"]) for h in held] == [
        ("reopen", "reported", "relapse", "路面再次下沉")
    ]
    assert held[0]["position"]["lon"] == pytest.approx(fengyang_point["lon"])
    waiting = [c for c in queue(client) if c["site"]["id"] == site_id]
    assert [c["event"]["id"] for c in waiting] == [held[0]["id"]]

    decided = client.post(
        f"/api/v1/conflicts/{held[0]['id']}", json={"decision": "apply"}, headers=auth("commander")
    )

    assert decided.status_code == 201, decided.get_json()
    reopened = site(client, site_id)
    assert reopened["status"] == "reported"
    assert not reopened["done"]
    assert reopened["history"][-1]["action"] == "reopen"
    assert not [c for c in queue(client) if c["site"]["id"] == site_id]


def test_a_dismissed_relapse_keeps_the_site_finished_on_record(app, client, fengyang_point):
    site_id = restored_collapse(client, fengyang_point)
    response = relapse(client, site_id, {"note": "疑似复发", "status": "repairing"})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["event"]["to_status"] == "repairing"

    event_id = response.get_json()["event"]["id"]
    decided = client.post(
        f"/api/v1/conflicts/{event_id}", json={"decision": "dismiss"}, headers=auth("commander")
    )

    assert decided.status_code == 201
    props = site(client, site_id)
    assert props["status"] == "restored"
    assert props["history"][-1]["action"] == "note"


def test_a_repeated_relapse_is_stored_once_and_a_second_one_waits_for_the_first(app, client, fengyang_point):
    site_id = restored_collapse(client, fengyang_point)
    key = uuid.uuid4().hex
    first = relapse(client, site_id, {"note": "再次塌陷"}, key=key)
    count = event_count(app)

    again = relapse(client, site_id, {"note": "再次塌陷"}, key=key)
    other = relapse(client, site_id, {"note": "又塌了"})

    assert first.status_code == 202
    assert again.status_code == 202 and again.get_json()["event"]["id"] == first.get_json()["event"]["id"]
    assert other.status_code == 400
    assert (
        "已在等待" in other.get_json()["error"]["message"]
        or "already" in other.get_json()["error"]["message"]
    )
    assert event_count(app) == count


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, "备注"),
        ({"note": "   "}, 400, "note"),
        ({"note": "复发", "status": "restored"}, 400, "已修复"),
        ({"note": "复发", "status": "no-such-status"}, 400, "no-such-status"),
        ({"note": "复发", "valid_at": "2021-07-28T10:00:00+08:00"}, 400, "2021-07-29"),
        ({"note": "复发", "position": "here"}, 400, "position"),
    ],
)
def test_bad_relapse_reports_are_refused_and_write_nothing(app, client, fengyang_point, body, status, words):
    site_id = restored_collapse(client, fengyang_point)
    count = event_count(app)

    response = relapse(client, site_id, body, who="commander")

    assert response.status_code == status, response.get_json()
    assert words in response.get_json()["error"]["message"]
    assert event_count(app) == count
    assert site(client, site_id)["status"] == "restored"


def test_an_unfinished_site_and_a_site_outside_the_scope_are_refused(app, client, fengyang_point):
    open_site = new_site(client, position=fengyang_point)["properties"]["id"]
    count = event_count(app)

    unfinished = relapse(client, open_site, {"note": "复发"})
    outside = relapse(client, open_site, {"note": "复发"}, who="field_shifo")

    assert unfinished.status_code == 409, unfinished.get_json()
    assert "状态" in unfinished.get_json()["error"]["message"]
    assert outside.status_code == 403
    assert event_count(app) == count
