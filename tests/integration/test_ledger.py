"""The write path: events append, projections follow in the same transaction, bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from shapely.geometry import mapping
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from support.databases import fingerprint
from support.ledger import advance_work_item, open_work_item, record_site_event, report_site

from recovery.errors import (
    GeometryError,
    IdempotencyError,
    NotFoundError,
    TransitionError,
    UnknownKindError,
    ValidationError,
)
from recovery.ledger.bulk import rebuild, verify
from recovery.metrics import evaluate_all
from recovery.metrics.cube import cube_from_ledger, cube_from_rollup
from recovery.models import Event, Site
from recovery.sites import draft_site
from recovery.timeutil import end_of_day, local_day, parse_instant

T0 = parse_instant("2021-07-21T09:00:00+08:00")


def point_in(geodata, sub: str = "fengyang") -> dict:
    return mapping(geodata.subdistrict(sub).geometry.representative_point())


def new_collapse(session, geodata, *, sub="fengyang", road_class="main", client_id=None, at=T0):
    draft = draft_site(
        "road_collapse", "科学大道塌陷点", point_in(geodata, sub), attributes={"road_class": road_class}
    )
    site, _ = report_site(
        session,
        draft,
        geodata,
        actor="巡查员",
        valid_at=at,
        client_id=client_id,
        recorded_at=at + timedelta(minutes=5),
    )
    return site


def step(session, site, status, hours, **kw):
    return record_site_event(
        session,
        site.id,
        action="transition",
        to_status=status,
        actor="抢修队",
        valid_at=T0 + timedelta(hours=hours),
        **kw,
    )


def test_report_then_transitions_update_the_projection(session, geodata):
    site = new_collapse(session, geodata)
    assert site.key.startswith("RC-") and site.subdistrict == "fengyang" and site.status == "reported"
    step(session, site, "secured", 1)
    step(session, site, "restored", 30)
    stored = session.get(Site, site.id)
    assert (stored.status, stored.version) == ("restored", 3)
    assert stored.done_at == T0 + timedelta(hours=30)
    events = session.scalars(select(Event).where(Event.site_id == site.id).order_by(Event.id)).all()
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "reported"),
        ("reported", "secured"),
        ("secured", "restored"),
    ]
    assert verify(session) == []


def test_state_as_of_valid_time_and_as_known_at_record_time(session, geodata):
    site = new_collapse(session, geodata, at=T0)
    # a late upload: it happened on the 21st but reached the server on the 23rd
    recorded = parse_instant("2021-07-23T10:00:00+08:00")
    step(session, site, "restored", 5, recorded_at=recorded)
    day = local_day(T0)
    now_known = evaluate_all(cube_from_ledger(session, end_of_day(day)))
    assert now_known["road_collapse_handled"].value == 1
    as_published = evaluate_all(cube_from_ledger(session, end_of_day(day), recorded - timedelta(seconds=1)))
    assert as_published["road_collapse_handled"].value == 0
    assert as_published["road_collapse_total"].value == 1
    before = evaluate_all(cube_from_ledger(session, T0 + timedelta(hours=4)))
    assert before["road_collapse_handled"].value == 0


def test_late_event_between_two_others_refolds_the_site(session, geodata):
    site = new_collapse(session, geodata)
    step(session, site, "restored", 48)
    # arrives last, happened in between: it is placed by valid time and sees the status of that time
    recorded = step(session, site, "secured", 10)
    assert recorded.event.from_status == "reported"
    stored = session.get(Site, site.id)
    assert stored.status == "restored" and stored.version == 3
    assert verify(session) == []
    day = local_day(T0 + timedelta(hours=10))
    rollup = evaluate_all(cube_from_rollup(session, day))
    ledger = evaluate_all(cube_from_ledger(session, end_of_day(day)))
    assert {k: f.printed for k, f in rollup.items()} == {k: f.printed for k, f in ledger.items()}


def test_same_client_id_same_body_is_stored_once(session, geodata):
    site = new_collapse(session, geodata)
    first = step(session, site, "secured", 1, client_id="phone-1-0001")
    before = fingerprint(session)
    again = step(session, site, "secured", 1, client_id="phone-1-0001")
    assert first.created and not again.created and again.event.id == first.event.id
    assert fingerprint(session) == before


def test_same_client_id_for_a_new_site_is_stored_once(session, geodata):
    site = new_collapse(session, geodata, client_id="phone-2-0001")
    before = fingerprint(session)
    again = new_collapse(session, geodata, client_id="phone-2-0001")
    assert again.id == site.id and fingerprint(session) == before


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("duplicate_client_id_other_body", IdempotencyError),
        ("backward_transition", TransitionError),
        ("unknown_status", ValidationError),
        ("unknown_site", NotFoundError),
        ("measure_for_wrong_kind", ValidationError),
        ("nan_measure", ValidationError),
        ("in_the_future", ValidationError),
        ("before_it_was_reported", ValidationError),
        ("empty_actor", ValidationError),
    ],
)
def test_refused_events_change_nothing(session, geodata, case, error):
    site = new_collapse(session, geodata)
    step(session, site, "repairing", 2, client_id="c-1")
    before = fingerprint(session)
    calls = {
        "duplicate_client_id_other_body": lambda: step(session, site, "passable", 3, client_id="c-1"),
        "backward_transition": lambda: step(session, site, "secured", 3),
        "unknown_status": lambda: step(session, site, "finished", 3),
        "unknown_site": lambda: record_site_event(
            session, 999999, action="transition", to_status="restored", actor="x", valid_at=T0
        ),
        "measure_for_wrong_kind": lambda: step(session, site, "passable", 3, measures={"silt_m3": 3}),
        "nan_measure": lambda: step(session, site, "passable", 3, measures={"silt_m3": float("nan")}),
        "in_the_future": lambda: step(session, site, "passable", 24 * 365 * 10),
        "before_it_was_reported": lambda: step(session, site, "passable", -5),
        "empty_actor": lambda: record_site_event(
            session,
            site.id,
            action="transition",
            to_status="passable",
            actor="  ",
            valid_at=T0 + timedelta(hours=3),
        ),
    }
    with pytest.raises(error):
        calls[case]()
    assert fingerprint(session) == before


@pytest.mark.parametrize(
    ("kind", "geometry", "attributes", "error"),
    [
        (
            "road_collapse",
            {"type": "Point", "coordinates": [34.8, 113.55]},
            {"road_class": "main"},
            GeometryError,
        ),
        (
            "road_collapse",
            {"type": "Point", "coordinates": [181, 34.8]},
            {"road_class": "main"},
            GeometryError,
        ),
        (
            "road_collapse",
            {"type": "Point", "coordinates": ["113.5", 34.8]},
            {"road_class": "main"},
            GeometryError,
        ),
        (
            "road_collapse",
            {"type": "Point", "coordinates": [float("nan"), 34.8]},
            {"road_class": "main"},
            GeometryError,
        ),
        (
            "silt_site",
            {
                "type": "Polygon",
                "coordinates": [
                    [[113.5, 34.8], [113.51, 34.81], [113.51, 34.8], [113.5, 34.81], [113.5, 34.8]]
                ],
            },
            {},
            GeometryError,
        ),
        (
            "road_collapse",
            {
                "type": "Polygon",
                "coordinates": [[[113.5, 34.8], [113.51, 34.8], [113.51, 34.81], [113.5, 34.8]]],
            },
            {"road_class": "main"},
            GeometryError,
        ),
        ("road_collapse", {"type": "Point", "coordinates": []}, {"road_class": "main"}, GeometryError),
        ("volcano", {"type": "Point", "coordinates": [113.55, 34.8]}, {}, UnknownKindError),
        (
            "road_collapse",
            {"type": "Point", "coordinates": [113.55, 34.8]},
            {"road_class": "highway"},
            ValidationError,
        ),
        ("road_collapse", {"type": "Point", "coordinates": [113.55, 34.8]}, {}, ValidationError),
    ],
)
def test_refused_sites_change_nothing(session, geodata, kind, geometry, attributes, error):
    new_collapse(session, geodata)
    before = fingerprint(session)
    with pytest.raises(error):
        draft = draft_site(kind, "坏数据", geometry, attributes=attributes)
        report_site(session, draft, geodata, actor="x", valid_at=T0)
    assert fingerprint(session) == before


def test_check_in_once_a_day(session, geodata):
    draft = draft_site("disinfection_point", "农贸市场消杀点", point_in(geodata, "shifo"))
    point, _ = report_site(session, draft, geodata, actor="x", valid_at=T0)
    record_site_event(session, point.id, action="check_in", actor="消杀队", valid_at=T0 + timedelta(hours=1))
    before = fingerprint(session)
    with pytest.raises(ValidationError):
        record_site_event(
            session, point.id, action="check_in", actor="消杀队", valid_at=T0 + timedelta(hours=5)
        )
    assert fingerprint(session) == before
    record_site_event(session, point.id, action="check_in", actor="消杀队", valid_at=T0 + timedelta(days=1))
    figures = evaluate_all(cube_from_rollup(session, local_day(T0)))
    assert figures["disinfection_coverage"].printed == "100.00"


def test_enterprise_capacity_drives_the_composite_rate(session, geodata):
    sites = []
    for name in ("甲公司", "乙公司"):
        draft = draft_site("enterprise", name, point_in(geodata, "shifo"), attributes={"above_size": True})
        site, _ = report_site(session, draft, geodata, actor="x", valid_at=T0 - timedelta(hours=10))
        record_site_event(
            session,
            site.id,
            action="transition",
            to_status="stopped",
            actor="x",
            valid_at=T0 - timedelta(hours=9),
        )
        sites.append(site)
    with pytest.raises(ValidationError):  # a partial restart must say how much
        record_site_event(
            session, sites[0].id, action="transition", to_status="partly_restarted", actor="x", valid_at=T0
        )
    record_site_event(
        session,
        sites[0].id,
        action="transition",
        to_status="partly_restarted",
        actor="x",
        valid_at=T0,
        measures={"capacity_pct": 50},
    )
    f = evaluate_all(cube_from_ledger(session, end_of_day(local_day(T0))))
    assert (f["composite_restart_rate"].printed, f["restart_headcount_rate"].printed) == ("25.00", "50.00")
    record_site_event(
        session,
        sites[1].id,
        action="transition",
        to_status="restarted",
        actor="x",
        valid_at=T0 + timedelta(hours=1),
    )
    f = evaluate_all(cube_from_rollup(session, local_day(T0)))
    assert (f["composite_restart_rate"].printed, f["restart_headcount_rate"].printed) == ("75.00", "100.00")
    assert verify(session) == []


def test_ledger_is_append_only(session, geodata):
    new_collapse(session, geodata)
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE event SET note = 'rewritten'"))
    session.rollback()
    with pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM event"))
    session.rollback()


def test_verify_finds_a_tampered_projection_and_rebuild_repairs_it(session, geodata):
    site = new_collapse(session, geodata)
    step(session, site, "secured", 1)
    session.execute(text("UPDATE site SET status = 'restored' WHERE id = :id"), {"id": site.id})
    session.commit()
    problems = verify(session)
    assert any("status" in p for p in problems)
    rebuild(session)
    assert verify(session) == []
    assert session.get(Site, site.id).status == "secured"


def test_work_items_follow_13710(session, geodata):
    site = new_collapse(session, geodata)
    item, _ = open_work_item(
        session,
        category="supervision",
        title="督办:塌陷点围挡",
        responsible_unit="枫杨办事处",
        site_id=site.id,
        actor="督查组",
        valid_at=T0,
    )
    assert item.feedback_due == T0 + timedelta(days=3) and item.resolve_due == T0 + timedelta(days=7)
    late = evaluate_all(cube_from_ledger(session, T0 + timedelta(days=4)))
    assert late["work_items_overdue_feedback"].value == 1
    advance_work_item(
        session, item.id, action="work_item_feedback", actor="枫杨办事处", valid_at=T0 + timedelta(days=2)
    )
    # a second feedback is a progress report: the first one's time stays the one 13710 counts
    advance_work_item(
        session, item.id, action="work_item_feedback", actor="x", valid_at=T0 + timedelta(days=2, hours=1)
    )
    assert session.get(type(item), item.id).fed_back_at == T0 + timedelta(days=2)
    with pytest.raises(TransitionError):  # 销号 only after the unit has resolved it
        advance_work_item(
            session, item.id, action="work_item_close", actor="督查组", valid_at=T0 + timedelta(days=4)
        )
    with pytest.raises(TransitionError):  # nothing is placed before the order's last step
        advance_work_item(
            session, item.id, action="work_item_resolve", actor="枫杨办事处", valid_at=T0 + timedelta(days=1)
        )
    advance_work_item(
        session, item.id, action="work_item_resolve", actor="枫杨办事处", valid_at=T0 + timedelta(days=4)
    )
    advance_work_item(
        session, item.id, action="work_item_close", actor="督查组", valid_at=T0 + timedelta(days=5)
    )
    f = evaluate_all(cube_from_ledger(session, T0 + timedelta(days=10)))
    assert (
        f["work_items_closed"].value,
        f["work_items_open"].value,
        f["work_items_overdue_resolve"].value,
    ) == (1, 0, 0)
    assert verify(session) == []
