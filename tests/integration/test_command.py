"""Commanding: assignments and supervision orders go into the ledger with who made them; only commanders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

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
        json={"site_ids": ids, "team_id": crew.id, "deadline": "2021-08-10", "confirm_past_deadline": True},
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
        ({"site_ids": [1], "team_id": 1, "clear_deadlines": "yes"}, 400),
        ({"site_ids": [1], "team_id": 1, "expected_count": 0}, 400),
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
        ("/api/v1/command/assign/preview", {"site_ids": [1], "team_id": 1}),
        ("/api/v1/command/assignments/abc/undo", {}),
    ):
        assert seeded_client.post(path, headers=auth(role), json=body).status_code == 403
        assert seeded_client.post(path, json=body).status_code == 401
    assert fingerprint(seeded_session) == before


ASSIGN = "/api/v1/command/assign"


def _crews(session) -> list[Team]:
    return list(session.scalars(select(Team).where(Team.type == "crew").order_by(Team.id)))[:3]


def _later(days: int = 30) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def _state(session, ids) -> dict:
    session.rollback()
    return {s.id: (s.team_id, s.deadline) for s in session.scalars(select(Site).where(Site.id.in_(ids)))}


def _assign(client, body, status=201) -> dict:
    response = client.post(ASSIGN, headers=COMMANDER, json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_a_preview_tells_what_would_change_and_changes_nothing(seeded_client, seeded_session):
    first, second, _ = _crews(seeded_session)
    _assign(seeded_client, {"site_ids": [1], "team_id": first.id, "deadline": _later(5)})
    _assign(seeded_client, {"site_ids": [2], "team_id": second.id, "clear_deadlines": True})
    before = fingerprint(seeded_session)
    body = {"site_ids": [1, 2, 3], "team_id": second.id, "deadline": _later(10)}
    response = seeded_client.post(f"{ASSIGN}/preview", headers=COMMANDER, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    preview = response.get_json()
    assert fingerprint(seeded_session) == before
    losing = {t["team_id"]: t for t in preview["losing"]}
    assert preview["count"] == 3 and preview["already"] == 1 and preview["team"]["id"] == second.id
    assert losing[first.id]["count"] == 1 and losing[first.id]["name"] == first.name
    assert sum(t["count"] for t in preview["losing"]) == 2
    assert preview["deadlines_changed"] == 3 and preview["deadline_text"] == _later(10)
    assert preview["past_deadline"] is False
    # without a deadline nothing changes but the team; a past day is flagged
    keep = seeded_client.post(f"{ASSIGN}/preview", headers=COMMANDER, json={**body, "deadline": None})
    assert keep.get_json()["deadlines_changed"] == 0 and keep.get_json()["deadlines_kept"] == 3
    past = seeded_client.post(f"{ASSIGN}/preview", headers=COMMANDER, json={**body, "deadline": "2021-08-15"})
    assert past.get_json()["past_deadline"] is True
    assert fingerprint(seeded_session) == before


def test_an_empty_deadline_keeps_each_sites_deadline_clearing_is_asked_by_name(seeded_client, seeded_session):
    first, second, _ = _crews(seeded_session)
    _assign(seeded_client, {"site_ids": [1], "team_id": first.id, "deadline": _later(5)})
    _assign(seeded_client, {"site_ids": [2], "team_id": first.id, "deadline": _later(9)})
    kept = _state(seeded_session, [1, 2])
    _assign(seeded_client, {"site_ids": [1, 2], "team_id": second.id})
    after = _state(seeded_session, [1, 2])
    assert {i: due for i, (_, due) in after.items()} == {i: due for i, (_, due) in kept.items()}
    assert {team for team, _ in after.values()} == {second.id}
    before = fingerprint(seeded_session)
    both = {"site_ids": [1], "team_id": second.id, "deadline": _later(), "clear_deadlines": True}
    refused = seeded_client.post(ASSIGN, headers={**COMMANDER, "Accept-Language": "zh-CN"}, json=both)
    assert refused.status_code == 400 and "清除期限" in refused.get_json()["error"]["message"]
    assert fingerprint(seeded_session) == before
    _assign(seeded_client, {"site_ids": [1, 2], "team_id": second.id, "clear_deadlines": True})
    assert {due for _, due in _state(seeded_session, [1, 2]).values()} == {None}


def test_a_past_deadline_needs_a_confirmation(seeded_client, seeded_session):
    crew = _crews(seeded_session)[0]
    before = fingerprint(seeded_session)
    body = {"site_ids": [1], "team_id": crew.id, "deadline": "2021-08-15"}
    refused = seeded_client.post(ASSIGN, headers={**COMMANDER, "Accept-Language": "zh-CN"}, json=body)
    assert refused.status_code == 400
    assert "2021-08-15" in refused.get_json()["error"]["message"]
    assert fingerprint(seeded_session) == before
    _assign(seeded_client, {**body, "confirm_past_deadline": True})
    assert _state(seeded_session, [1])[1][0] == crew.id


def test_a_selection_that_changed_since_the_preview_is_refused(seeded_client, seeded_session):
    crew = _crews(seeded_session)[0]
    before = fingerprint(seeded_session)
    body = {"filter": {"kind": "road_collapse", "subdistrict": "fengyang"}, "team_id": crew.id}
    count = seeded_client.post(f"{ASSIGN}/preview", headers=COMMANDER, json=body).get_json()["count"]
    refused = seeded_client.post(ASSIGN, headers=COMMANDER, json={**body, "expected_count": count + 1})
    assert refused.status_code == 409 and str(count) in refused.get_json()["error"]["message"]
    assert fingerprint(seeded_session) == before
    assert len(_assign(seeded_client, {**body, "expected_count": count})["site_ids"]) == count


def test_an_assignment_is_undone_on_record(seeded_client, seeded_session):
    first, second, _ = _crews(seeded_session)
    _assign(seeded_client, {"site_ids": [1, 2], "team_id": first.id, "deadline": _later(5)})
    _assign(seeded_client, {"site_ids": [3], "team_id": first.id, "clear_deadlines": True})
    original = _state(seeded_session, [1, 2, 3])
    made = _assign(seeded_client, {"site_ids": [1, 2, 3], "team_id": second.id, "deadline": _later(20)})
    assert made["undo_url"].endswith(f"/assignments/{made['assignment']}/undo")
    # site 3 is assigned again since: that later decision stands
    _assign(seeded_client, {"site_ids": [3], "team_id": first.id, "deadline": _later(40)})
    later = _state(seeded_session, [3])
    response = seeded_client.post(made["undo_url"], headers=COMMANDER)
    assert response.status_code == 201, response.get_data(as_text=True)
    undone = response.get_json()
    assert sorted(undone["site_ids"]) == [1, 2] and undone["kept"] == [3]
    assert undone["undoes"] == made["assignment"] and undone["assignment"] != made["assignment"]
    now_state = _state(seeded_session, [1, 2, 3])
    assert now_state[1] == original[1] and now_state[2] == original[2] and now_state[3] == later[3]
    # the undo is in the ledger: new assign events naming the assignment they undo, with who did it
    events = seeded_session.scalars(select(Event).where(Event.id.in_(undone["event_ids"]))).all()
    assert len(events) == 2 and {e.action for e in events} == {"assign"}
    assert {e.details["undoes"] for e in events} == {made["assignment"]}
    assert {e.actor for e in events} == {"测试commander"}
    assert {e.details["team_id"] for e in events} == {first.id}
    # once only; an unknown assignment is a 404; nothing changes either way
    before = fingerprint(seeded_session)
    again = seeded_client.post(made["undo_url"], headers=COMMANDER)
    assert again.status_code == 409 and again.get_json()["error"]["message"]
    assert seeded_client.post("/api/v1/command/assignments/nope/undo", headers=COMMANDER).status_code == 404
    assert fingerprint(seeded_session) == before
    # the undoing is an assignment too: it can itself be undone
    redo = seeded_client.post(f"/api/v1/command/assignments/{undone['assignment']}/undo", headers=COMMANDER)
    assert redo.status_code == 201 and {t for t, _ in _state(seeded_session, [1, 2]).values()} == {second.id}


def test_a_retired_team_is_refused(seeded_client, seeded_session):
    crew = _crews(seeded_session)[0]
    crew.retired_at = datetime.now(UTC)
    seeded_session.add(crew)
    seeded_session.commit()
    before = fingerprint(seeded_session)
    response = seeded_client.post(ASSIGN, headers=COMMANDER, json={"site_ids": [1], "team_id": crew.id})
    assert response.status_code == 400 and crew.name in response.get_json()["error"]["message"]
    assert fingerprint(seeded_session) == before
