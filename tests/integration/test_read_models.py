"""The reads the API's views call (a site and its history, its work items, the conflict queue, the photo table),
tested on a session without Flask: the same answers the views gave when they held this SQL themselves."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import mapping
from sqlalchemy import select

from recovery.command import crews
from recovery.ledger.conflicts import flagged_event, is_pending, pending_conflicts
from recovery.ledger.record import record_site_event
from recovery.models import Team
from recovery.models_accounts import User
from recovery.numbers import MAX_INT
from recovery.photos import StoredPhoto, add_photo, finished_photo, site_photos, unusable_uploads, upload_of
from recovery.query.site import find_site, site_history
from recovery.sites import draft_site, report_site
from recovery.workitems import open_work_item
from recovery.workitems_read import site_work_items

ZONE = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2021, 7, 21, hour, minute, tzinfo=ZONE)


def new_site(session, geodata, name: str = "长椿路塌陷"):
    point = geodata.subdistrict("fengyang").geometry.representative_point()
    draft = draft_site("road_collapse", name, mapping(point), attributes={"road_class": "main"})
    site, _ = report_site(session, draft, geodata, actor="测试", valid_at=at(8))
    session.flush()
    return site


def user_id(session, name: str) -> int:
    return session.scalar(select(User.id).where(User.username == name))


@pytest.fixture
def closed_site_with_a_late_change(session, geodata):
    """Passable at 09:00 and restored at 12:00, then a change made at 10:00 arrives: it is flagged."""
    site = new_site(session, geodata)
    for status, hour in (("passable", 9), ("restored", 12)):
        record_site_event(
            session, site.id, action="transition", to_status=status, actor="指挥", valid_at=at(hour)
        )
    late = record_site_event(
        session, site.id, action="transition", to_status="repairing", actor="现场", valid_at=at(10)
    )
    session.flush()
    assert late.flagged
    return site, late.event


def test_find_site_names_a_site_or_nothing(session, geodata):
    site = new_site(session, geodata)
    assert find_site(session, site.id) is site
    assert find_site(session, site.id + 1) is None
    assert find_site(session, 0) is None and find_site(session, MAX_INT + 1) is None


def test_history_is_in_valid_time_with_a_late_change_in_its_place(session, closed_site_with_a_late_change):
    site, late = closed_site_with_a_late_change
    history = site_history(session, site.id)
    assert [(e.action, e.to_status) for e in history] == [
        ("report", "reported"),
        ("transition", "passable"),
        ("transition", "repairing"),  # made at 10:00, recorded last
        ("transition", "restored"),
    ]
    assert history[2].id == late.id and history[2].id > history[3].id
    assert site_history(session, site.id + 1) == []


def test_the_conflict_queue_until_a_decision_resolves_it(session, closed_site_with_a_late_change):
    site, late = closed_site_with_a_late_change
    assert [e.id for e in pending_conflicts(session)] == [late.id]
    flagged = flagged_event(session, late.id)
    assert flagged.id == late.id and is_pending(session, flagged)
    unflagged = site_history(session, site.id)[0]
    assert flagged_event(session, unflagged.id) is None and flagged_event(session, MAX_INT + 1) is None
    record_site_event(
        session,
        site.id,
        action="note",
        actor="指挥",
        valid_at=at(13),
        details={"resolves": late.id, "decision": "dismiss"},
    )
    session.flush()
    assert pending_conflicts(session) == []
    assert flagged_event(session, late.id).id == late.id and not is_pending(session, flagged)


def test_a_sites_work_items_oldest_first(session, geodata):
    site, other = new_site(session, geodata), new_site(session, geodata, "文化路塌陷")
    opened = []
    for title, on in (("督办一", site), ("另一处", other), ("督办二", site)):
        item, _ = open_work_item(
            session,
            category="supervision",
            title=title,
            responsible_unit="fengyang",
            site_id=on.id,
            actor="指挥",
            valid_at=at(9),
        )
        opened.append(item)
    session.flush()
    assert [w.title for w in site_work_items(session, site.id)] == ["督办一", "督办二"]
    assert [w.id for w in site_work_items(session, other.id)] == [opened[1].id]


def stored(n: int) -> StoredPhoto:
    return StoredPhoto(Path(f"ab/{n:064x}.jpg"), f"{n:064x}", 1000 + n, "image/jpeg", 40, 30)


def test_the_photo_table_by_user_upload_and_site(session, geodata):
    site, other = new_site(session, geodata), new_site(session, geodata, "文化路塌陷")
    field, commander = user_id(session, "field"), user_id(session, "commander")
    first = add_photo(session, stored(1), upload_id="upload-0001", site_id=site.id, user_id=field)
    # upload ids are each user's own: another phone may pick the same one
    theirs = add_photo(session, stored(2), upload_id="upload-0001", site_id=site.id, user_id=commander)
    elsewhere = add_photo(session, stored(3), upload_id="upload-0002", site_id=other.id, user_id=field)
    session.flush()
    assert upload_of(session, field, "upload-0001") is first
    assert upload_of(session, commander, "upload-0001") is theirs
    assert upload_of(session, field, "upload-9999") is None
    assert (first.size, first.received, first.complete, first.path) == (
        1001,
        1001,
        True,
        "ab/" + f"{1:064x}.jpg",
    )
    assert site_photos(session, site.id) == [first, theirs]
    assert finished_photo(session, elsewhere.id) is elsewhere and finished_photo(session, MAX_INT + 1) is None
    elsewhere.complete = False
    session.flush()
    assert finished_photo(session, elsewhere.id) is None and site_photos(session, other.id) == []
    asked = ["upload-0002", "upload-0001", "upload-0003"]
    assert unusable_uploads(session, field, site.id, asked) == ["upload-0002", "upload-0003"]
    assert unusable_uploads(session, field, site.id, []) == []


def test_crews_and_a_reported_sites_team(session, geodata):
    """The map offers the crews (not the other teams) in the order they were made; a site reported by a crew
    member is that crew's unless the report names a team of its own."""
    teams = [
        Team(key="crew-b", name="二队", type="crew"),
        Team(key="party", name="党组织", type="party_org"),
        Team(key="crew-a", name="一队", type="crew"),
    ]
    session.add_all(teams)
    session.commit()  # a write (report_site) starts its own transaction
    assert crews(session) == [(teams[0].id, "二队"), (teams[2].id, "一队")]
    point = mapping(geodata.subdistrict("fengyang").geometry.representative_point())
    attributes = {"road_class": "main"}
    mine, _ = report_site(
        session,
        draft_site("road_collapse", "甲", point, attributes=attributes),
        geodata,
        actor="现场",
        valid_at=at(8),
        team_id=teams[0].id,
    )
    own, _ = report_site(
        session,
        draft_site("road_collapse", "乙", point, attributes=attributes, team_key="crew-a"),
        geodata,
        actor="现场",
        valid_at=at(8),
        team_id=teams[0].id,
    )
    nobody, _ = report_site(
        session,
        draft_site("road_collapse", "丙", point, attributes=attributes),
        geodata,
        actor="x",
        valid_at=at(8),
    )
    assert (mine.team_id, own.team_id, nobody.team_id) == (teams[0].id, teams[2].id, None)
