"""A selection drawn on the map: counted with the filters and the date, assigned as exactly those sites."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import shapely
from sqlalchemy import select
from support.accounts import auth
from support.databases import fingerprint

from recovery.models import Event, Site, Team

COMMANDER = auth("commander")
BOX = (113.50, 34.75, 113.56, 34.82)


def _rectangle(minx, miny, maxx, maxy) -> dict:
    ring = [[minx, miny], [minx, maxy], [maxx, maxy], [maxx, miny], [minx, miny]]
    return {"type": "Polygon", "coordinates": [ring]}


TRIANGLE = {
    "type": "Polygon",
    "coordinates": [[[113.50, 34.75], [113.56, 34.75], [113.53, 34.82], [113.50, 34.75]]],
}


def _selection(client, polygon, headers=COMMANDER, **params):
    query = "&".join([f"polygon={quote(json.dumps(polygon))}", *(f"{k}={v}" for k, v in params.items())])
    return client.get(f"/map/selection?{query}", headers={**headers, "Accept": "application/json"})


def _centres_inside(session, polygon: dict, kind: str) -> list[int]:
    shape = shapely.geometry.shape(polygon)
    rows = session.execute(
        select(Site.id, (Site.minx + Site.maxx) / 2, (Site.miny + Site.maxy) / 2).where(Site.kind == kind)
    ).all()
    return sorted(i for i, x, y in rows if shape.intersects(shapely.Point(x, y)))


def _crew(session) -> Team:
    return session.scalars(select(Team).where(Team.type == "crew").order_by(Team.id)).first()


def test_a_drawn_shape_counts_the_sites_inside_it(seeded_client, seeded_session):
    for polygon in (_rectangle(*BOX), TRIANGLE):
        response = _selection(seeded_client, polygon, kind="road_collapse")
        assert response.status_code == 200, response.get_data(as_text=True)
        expected = _centres_inside(seeded_session, polygon, "road_collapse")
        assert response.get_json()["count"] == len(expected) > 0
    rect = _selection(seeded_client, _rectangle(*BOX), kind="road_collapse").get_json()
    tri = _selection(seeded_client, TRIANGLE, kind="road_collapse").get_json()
    assert tri["count"] < rect["count"]
    # the same sites the clusters of that box count
    clusters = seeded_client.get(
        "/map/clusters?z=12&kind=road_collapse&bbox=" + ",".join(map(str, BOX)), headers=COMMANDER
    ).get_json()
    assert clusters["in_view"] == rect["count"] == rect["summary"]["total"]


def test_the_selection_follows_the_filters_and_the_date(seeded_client):
    box = _rectangle(*BOX)
    done_now = _selection(seeded_client, box, kind="road_collapse", status="restored").get_json()["count"]
    done_early = _selection(seeded_client, box, kind="road_collapse", status="restored", date="2021-07-22")
    assert done_early.get_json()["count"] < done_now
    assert done_early.get_json()["as_of"].startswith("2021-07-23T00:00")
    one_sub = _selection(seeded_client, box, subdistrict="shifo").get_json()["count"]
    every = _selection(seeded_client, box).get_json()["count"]
    assert one_sub < every


def test_assign_a_drawn_selection_writes_one_event_per_site(seeded_client, seeded_session):
    crew = _crew(seeded_session)
    polygon = TRIANGLE
    flt = {"kind": "road_collapse", "status": "open", "date": "2021-07-29"}
    counted = _selection(seeded_client, polygon, **flt).get_json()["count"]
    response = seeded_client.post(
        "/api/v1/command/assign",
        headers=COMMANDER,
        json={
            "polygon": polygon,
            "filter": flt,
            "team_id": crew.id,
            "deadline": "2021-08-15",
            "confirm_past_deadline": True,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert len(body["site_ids"]) == counted > 0
    assert set(body["site_ids"]) <= set(_centres_inside(seeded_session, polygon, "road_collapse"))
    seeded_session.rollback()
    events = seeded_session.scalars(select(Event).where(Event.id.in_(body["event_ids"]))).all()
    assert sorted(e.site_id for e in events) == sorted(body["site_ids"])
    assert {e.action for e in events} == {"assign"} and {e.actor for e in events} == {"测试commander"}
    assert all(seeded_session.get(Site, i).team_id == crew.id for i in body["site_ids"])


@pytest.mark.parametrize(
    "polygon",
    [
        {"type": "Point", "coordinates": [113.5, 34.8]},
        {
            "type": "Polygon",
            "coordinates": [[[113.5, 34.8], [113.6, 34.9], [113.6, 34.8], [113.5, 34.9], [113.5, 34.8]]],
        },
        {"type": "Polygon", "coordinates": [[[113.5, 34.8], [213.6, 34.8], [113.6, 34.9], [113.5, 34.8]]]},
        {
            "type": "Polygon",
            "coordinates": [[["113.5", 34.8], [113.6, 34.8], [113.6, 34.9], ["113.5", 34.8]]],
        },
        {"type": "Polygon", "coordinates": [[[113.5 + i / 1e4, 34.8 + (i % 2) / 1e4] for i in range(1001)]]},
        "not json",
    ],
    ids=["point", "bow-tie", "out-of-range", "strings", "too-many-vertices", "not-json"],
)
def test_a_bad_shape_is_refused_and_changes_nothing(seeded_client, seeded_session, polygon):
    before = fingerprint(seeded_session)
    raw = polygon if isinstance(polygon, str) else json.dumps(polygon)
    counted = seeded_client.get(
        f"/map/selection?polygon={quote(raw)}",
        headers={**COMMANDER, "Accept-Language": "zh-CN", "Accept": "application/json"},
    )
    assert counted.status_code == 400 and counted.get_json()["error"]["status"] == 400
    assigned = seeded_client.post(
        "/api/v1/command/assign",
        headers={**COMMANDER, "Accept-Language": "zh-CN"},
        json={"polygon": polygon, "team_id": _crew(seeded_session).id},
    )
    assert assigned.status_code == 400, assigned.get_data(as_text=True)
    message = assigned.get_json()["error"]["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    assert fingerprint(seeded_session) == before


def test_only_commanders_count_a_selection(seeded_client):
    for role in ("field", "reporter"):
        assert _selection(seeded_client, _rectangle(*BOX), headers=auth(role)).status_code == 403
    assert _selection(seeded_client, _rectangle(*BOX), headers=auth("admin")).status_code == 200
