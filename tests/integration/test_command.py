"""Commanding: assignments and supervision orders go into the ledger with who made them; only commanders."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.accounts import auth
from support.databases import fingerprint

from recovery.models import Event, Site, Team, WorkItem

COMMANDER = auth("commander")


def _crew(session) -> Team:
    return session.scalars(select(Team).where(Team.type == "crew").order_by(Team.id)).first()


def test_assign_sites_to_a_team_with_a_deadline(seeded_app, seeded_client, seeded_session):
    crew = _crew(seeded_session)
    ids = [1, 2, 3]
    before = {s.id: s.status for s in seeded_session.scalars(select(Site).where(Site.id.in_(ids)))}
    response = seeded_client.post(
        "/api/v1/command/assign",
        headers=COMMANDER,
        json={"site_ids": ids, "team_id": crew.id, "deadline": "2021-08-10"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (
        body["site_ids"] == ids
        and len(body["event_ids"]) == 3
        and body["deadline"].startswith("2021-08-11T00:00")
    )
    seeded_session.rollback()
    events = seeded_session.scalars(select(Event).where(Event.id.in_(body["event_ids"]))).all()
    assert {e.action for e in events} == {"assign"} and {e.actor for e in events} == {"测试commander"}
    assert all(e.details["team_id"] == crew.id and e.user_id is not None for e in events)
    for site in seeded_session.scalars(select(Site).where(Site.id.in_(ids))):
        assert site.team_id == crew.id and site.status == before[site.id]
        assert site.deadline.isoformat().startswith("2021-08-10T16:00")
    # read back, the deadline is the day that was given
    props = seeded_client.get(f"/api/v1/sites/{ids[0]}", headers=COMMANDER).get_json()["properties"]
    assert props["deadline_text"] == "2021-08-10"


def test_assign_the_sites_a_filter_selects(seeded_client, seeded_session):
    crew = _crew(seeded_session)
    response = seeded_client.post(
        "/api/v1/command/assign",
        headers=COMMANDER,
        json={"filter": {"kind": "road_collapse", "subdistrict": "fengyang"}, "team_id": crew.id},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    ids = response.get_json()["site_ids"]
    seeded_session.rollback()
    expected = seeded_session.scalars(
        select(Site.id).where(Site.kind == "road_collapse", Site.subdistrict == "fengyang")
    ).all()
    assert sorted(ids) == sorted(expected) and ids
    assert all(seeded_session.get(Site, i).team_id == crew.id for i in ids)


def test_a_bad_assignment_changes_nothing(seeded_client, seeded_session):
    before = fingerprint(seeded_session)
    for body, status in (
        ({"site_ids": [1, 2], "team_id": 999999}, 404),
        ({"site_ids": [1, 999999], "team_id": _crew(seeded_session).id}, 404),
        ({"site_ids": [], "team_id": 1}, 400),
        ({"site_ids": "1", "team_id": 1}, 400),
        ({"filter": {"kind": "volcano"}, "team_id": 1}, 400),
        ({"site_ids": [1], "team_id": 1, "deadline": "tomorrow"}, 400),
    ):
        response = seeded_client.post("/api/v1/command/assign", headers=COMMANDER, json=body)
        assert response.status_code == status, (body, response.get_data(as_text=True))
    assert fingerprint(seeded_session) == before


def test_supervision_order_is_a_work_item_in_the_ledger(seeded_client, seeded_session):
    response = seeded_client.post(
        "/api/v1/command/supervise",
        headers=COMMANDER,
        json={
            "title": "科学大道塌陷点加快施工",
            "responsible_unit": "沟赵办事处",
            "severity": "major",
            "site_id": 1,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    seeded_session.rollback()
    item = seeded_session.get(WorkItem, response.get_json()["id"])
    assert item.category == "supervision" and item.severity == "major" and item.site_id == 1
    event = seeded_session.scalars(select(Event).where(Event.work_item_id == item.id)).one()
    assert event.action == "work_item_open" and event.actor == "测试commander"
    assert (item.resolve_due - item.opened_at).days == 30


@pytest.mark.parametrize("role", ["field", "reporter"])
def test_only_commanders_command(seeded_client, seeded_session, role):
    before = fingerprint(seeded_session)
    for path, body in (
        ("/api/v1/command/assign", {"site_ids": [1], "team_id": 1}),
        ("/api/v1/command/supervise", {"title": "x", "responsible_unit": "y"}),
    ):
        assert seeded_client.post(path, headers=auth(role), json=body).status_code == 403
        assert seeded_client.post(path, json=body).status_code == 401
    assert fingerprint(seeded_session) == before
