"""Late changes (made offline before a site was closed, recorded after): one that fits the history is placed at
its time; one that does not is flagged, and a commander's "apply" places it at its time too. Either way the
figures of that day change as known from then on, and stay as they were as known before."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from support.accounts import auth
from support.databases import db
from support.sites import new_site, post_event

from recovery.ledger.bulk import verify
from recovery.models import Site
from recovery.reports.sites import iter_sites
from recovery.timeutil import end_of_day

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def fengyang_point(geodata):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    return {"lon": point.x, "lat": point.y, "crs": "wgs84"}


def figure(client, name, day, known_at=None):
    query = {"date": day, **({"known_at": known_at} if known_at else {})}
    response = client.get("/api/v1/metrics", query_string=query, headers=auth("commander"))
    assert response.status_code == 200, response.get_json()
    return next(f for f in response.get_json()["figures"] if f["key"] == name)["numerator"]


def collapse_passable_then_restored(client, point) -> int:
    """A collapse point reported on 23 July, passable since 24 July, recorded restored on 29 July."""
    site_id = new_site(client, position=point, valid_at="2021-07-23T08:00:00+08:00")["properties"]["id"]
    for version, (status, at) in enumerate(
        (("passable", "2021-07-24T10:00"), ("restored", "2021-07-29T10:00")), start=1
    ):
        response = post_event(
            client,
            site_id,
            {"status": status, "valid_at": f"{at}:00+08:00"},
            who="commander",
            version=version,
        )
        assert response.status_code == 201, response.get_json()
    return site_id


def moment_now() -> str:
    return datetime.now(SHANGHAI).isoformat()


def history(client, site_id):
    return client.get(f"/api/v1/sites/{site_id}", headers=auth("commander")).get_json()["properties"]


def test_late_change_that_fits_is_placed_and_the_later_one_becomes_a_repeat(app, client, fengyang_point):
    site_id = collapse_passable_then_restored(client, fengyang_point)
    before = moment_now()
    assert figure(client, "road_collapse_handled", "2021-07-28") == 0

    late = post_event(
        client, site_id, {"status": "restored", "valid_at": "2021-07-28T16:00:00+08:00"}, version=3
    )

    assert late.status_code == 201, late.get_json()
    assert late.get_json()["flagged"] is None
    props = history(client, site_id)
    assert props["status"] == "restored"
    assert [h["to_status"] for h in props["history"]] == ["reported", "passable", "restored", "restored"]
    assert [h["flag"] for h in props["history"]] == [None, None, None, None]
    # done since the late change's time, not the later repeat's
    with db(app) as session:
        done_at = session.scalar(select(Site.done_at).where(Site.id == site_id))
        assert done_at.astimezone(SHANGHAI) == datetime(2021, 7, 28, 16, 0, tzinfo=SHANGHAI)
        assert verify(session) == []
    # the 28th's figures as known now, and as known before the late change arrived
    assert figure(client, "road_collapse_handled", "2021-07-28") == 1
    assert figure(client, "road_collapse_handled", "2021-07-28", known_at=before) == 0
    assert figure(client, "road_collapse_handled", "2021-07-27") == 0
    assert figure(client, "road_collapse_handled", "2021-07-29") == 1


def test_a_new_change_repeating_the_status_is_still_refused(client, fengyang_point):
    site_id = collapse_passable_then_restored(client, fengyang_point)
    again = post_event(client, site_id, {"status": "restored"}, who="commander", version=3)
    assert again.status_code == 409
    assert history(client, site_id)["version"] == 3


def test_a_late_change_that_does_not_fit_is_flagged_and_applied_at_its_time(app, client, fengyang_point):
    site_id = collapse_passable_then_restored(client, fengyang_point)
    # offline on the 26th, a field user marked it "repairing": it cannot follow "passable"
    late = post_event(
        client, site_id, {"status": "repairing", "valid_at": "2021-07-26T09:00:00+08:00"}, version=3
    )
    assert late.status_code == 202 and late.get_json()["flagged"] == "after_close"
    flagged_known = moment_now()
    # flagged: nothing changed, as known now
    assert figure(client, "road_collapse_passable", "2021-07-26") == 1
    event_id = client.get("/api/v1/conflicts", headers=auth("commander")).get_json()["conflicts"][0]["event"][
        "id"
    ]

    decided = client.post(
        f"/api/v1/conflicts/{event_id}",
        json={"decision": "apply", "note": "现场核实：26日确在维修"},
        headers=auth("commander"),
    )

    assert decided.status_code == 201, decided.get_json()
    body = decided.get_json()
    assert body["event"]["valid_at"].startswith("2021-07-26T09:00")
    assert body["event"]["to_status"] == "repairing"
    # placed on the 26th: the site is still restored since the 29th
    assert body["site"]["properties"]["status"] == "restored"
    # on the 26th it was under repair, as known now; passable as known before the decision
    assert figure(client, "road_collapse_passable", "2021-07-26") == 0
    assert figure(client, "road_collapse_passable", "2021-07-26", known_at=flagged_known) == 1
    assert figure(client, "road_collapse_passable", "2021-07-25") == 1
    assert figure(client, "road_collapse_handled", "2021-07-29") == 1
    assert client.get("/api/v1/conflicts", headers=auth("commander")).get_json()["count"] == 0
    with db(app) as session:
        assert verify(session) == []


def test_a_site_reopened_since_keeps_its_completion_time_in_earlier_ledgers(app, client, fengyang_point):
    """The audit's RC-0003 case: a site restored on the 29th and reopened since showed 已修复 with 完成时间 blank
    in the 29 July ledger (the projection's done_at, cleared by the reopening, was read for every day)."""
    site_id = collapse_passable_then_restored(client, fengyang_point)
    before_reopen = datetime.now(SHANGHAI)
    reopened = client.post(
        f"/api/v1/sites/{site_id}/events",
        json={"action": "reopen", "status": "repairing", "valid_at": "2021-07-30T09:00:00+08:00"},
        headers={**auth("commander"), "If-Match": '"3"'},
    )
    assert reopened.status_code == 201, reopened.get_json()
    restored = datetime(2021, 7, 29, 10, tzinfo=SHANGHAI)
    with db(app) as session:
        for day, known_at, done in (
            (28, None, None),
            (29, None, restored),
            (30, None, None),
            (30, before_reopen, restored),
        ):
            as_of = end_of_day(datetime(2021, 7, day).date())
            (site,) = [s for s in iter_sites(session, as_of, known_at) if s.id == site_id]
            assert (site.status == "restored") == (done is not None), (day, site.status)
            assert site.done_at == done, (day, known_at)


def test_reopening_to_the_finished_status_says_so(client, fengyang_point):
    site_id = collapse_passable_then_restored(client, fengyang_point)
    response = client.post(
        f"/api/v1/sites/{site_id}/events",
        json={"action": "reopen", "status": "restored"},
        headers={**auth("commander"), "If-Match": '"3"', "Accept-Language": "zh-CN"},
    )
    assert response.status_code in (400, 409, 422), response.get_json()
    message = response.get_json()["error"]["message"]
    assert "已修复" in message and "未知" not in message, message
    assert history(client, site_id)["version"] == 3
