"""The command dashboard: 13710 lists that match the registry, the burn-down, the ranking, the charts."""

from __future__ import annotations

import re
from datetime import date

from support.accounts import login
from support.ledger import add_overdue_items

from recovery.dashboard.trends import burn_down


def _page(client, day: str) -> str:
    login(client, "commander")
    response = client.get(f"/?date={day}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_dashboard_sections_for_a_day(seeded_client):
    html = _page(seeded_client, "2021-07-29")
    for section in ("burn-down", "ranking", "restart", "overdue", "conflicts"):
        assert f'id="{section}"' in html
    assert re.search(r'id="burn-left">69<', html)  # 236 reported, 167 restored on 29 July
    assert html.count('<tr data-subdistrict="') == 5
    assert html.count("<svg") == 2 and "塌陷点倒排工期" in html and "企业复工复产曲线" in html
    assert "8月15日" in html


def test_overdue_lists_hold_the_registry_figures_records(seeded_app, seeded_url):
    """The lists are the registry's records, by unit, oldest first: with items overdue (the seed has none), so
    every loop below runs."""
    from recovery.dashboard.overdue import overdue_by_unit
    from recovery.db import get_session
    from recovery.metrics import cube_at, evaluate_all
    from recovery.timeutil import end_of_day

    add_overdue_items(seeded_url)  # four items opened on 10 July: 2 general, 2 major, none fed back
    # on 29 July the general ones are past their 7 days, the major ones not yet past their 30; on 20 August all are
    for day, majors in ((date(2021, 7, 29), 0), (date(2021, 8, 20), 2)):
        with seeded_app.test_request_context():
            session = get_session()
            lists = overdue_by_unit(session, end_of_day(day))
            figures = evaluate_all(cube_at(session, end_of_day(day)))
        count = {name: sum(len(u.work_items) for u in units) for name, units in lists.items()}
        assert count["feedback"] == figures["work_items_overdue_feedback"].value >= 4
        assert count["general"] + count["major"] == figures["work_items_overdue_resolve"].value
        assert count["general"] >= 2 and count["major"] >= majors
        for units in lists.values():
            opened = [u.work_items[0]["opened_at"] for u in units]
            assert opened == sorted(opened)
            for unit in units:
                assert unit.work_items and unit.label  # no unit without items, each labelled
                assert [i["opened_at"] for i in unit.work_items] == sorted(
                    i["opened_at"] for i in unit.work_items
                )
                assert all(i["days_overdue"] >= 0 for i in unit.work_items)
        assert {"城市管理局", "石佛办事处"} <= {u.label for u in lists["general"]}
    assert {"城市管理局", "商务局"} <= {u.label for u in lists["major"]}  # 20 August


def test_burn_down_pace_and_warning():
    days = {
        date(2021, 7, 20 + i): {"road_collapse_remaining": 100 - 2 * i, "road_collapse_handled": 2 * i}
        for i in range(10)
    }
    slow = burn_down(days, date(2021, 7, 29))
    assert slow.pace == 2.0 and slow.remaining[-1] == 82
    assert slow.projected_zero == date(2021, 9, 8) and slow.misses_deadline
    assert slow.needed == round(82 / 17, 2)
    fast = {
        date(2021, 7, 20 + i): {"road_collapse_remaining": 100 - 10 * i, "road_collapse_handled": 10 * i}
        for i in range(10)
    }
    quick = burn_down(fast, date(2021, 7, 29))
    assert quick.projected_zero == date(2021, 7, 30) and not quick.misses_deadline
    done = burn_down(
        {date(2021, 8, 14): {"road_collapse_remaining": 0, "road_collapse_handled": 236}}, date(2021, 8, 14)
    )
    assert not done.misses_deadline


def test_dashboard_in_english(seeded_client):
    login(seeded_client, "reporter")
    html = seeded_client.get("/?date=2021-07-29&lang=en").get_data(as_text=True)
    assert "Collapse points burn-down" in html and 'id="conflicts"' not in html  # reporters decide nothing


def _overdue_enterprises(client, session, deadlines: list[str]) -> list[int]:
    """Stopped enterprises (open, and no deadline in the seed) assigned with past deadlines: overdue."""
    from sqlalchemy import select
    from support.accounts import auth

    from recovery.models import Site, Team

    ids = list(
        session.scalars(
            select(Site.id)
            .where(Site.kind == "enterprise", Site.status == "stopped")
            .order_by(Site.id)
            .limit(len(deadlines))
        )
    )
    crew = session.scalars(select(Team.id).where(Team.type == "crew").order_by(Team.id)).first()
    for site_id, day in zip(ids, deadlines, strict=True):
        body = {"site_ids": [site_id], "team_id": crew, "deadline": day, "confirm_past_deadline": True}
        assert client.post("/api/v1/command/assign", headers=auth("commander"), json=body).status_code == 201
    return ids


def test_the_dashboard_lists_overdue_sites_most_overdue_first(seeded_client, seeded_session):
    from recovery.dashboard import overdue

    assert "超期点位" in _page(seeded_client, "2021-08-10") and 'id="overdue-sites-count">0<' in _page(
        seeded_client, "2021-08-10"
    )
    ids = _overdue_enterprises(
        seeded_client, seeded_session, ["2021-08-05", "2021-08-01", "2021-08-09", "2021-08-20"]
    )
    html = _page(seeded_client, "2021-08-10")
    # the one due on 20 August is not overdue on the 10th; the others by 9, 5 and 1 days, in that order
    listed = [int(i) for i in re.findall(r'<li data-site="(\d+)">', html)]
    assert listed == [ids[1], ids[0], ids[2]]
    assert 'id="overdue-sites-count">3<' in html
    assert [int(d) for d in re.findall(r'class="days">超期(\d+)天<', html)] == [9, 5, 1]
    assert f'href="/map?site={ids[1]}"' in html
    # more than a list holds: the count is all of them, the list the most overdue
    from collections import OrderedDict

    from recovery.map.points import point_table
    from recovery.timeutil import end_of_day

    seeded_session.rollback()
    at = end_of_day(date(2021, 8, 10))
    few = overdue.overdue_sites(
        seeded_session, point_table(OrderedDict(), seeded_session, at), at, "en", limit=2
    )
    assert few.count == 3 and [s["id"] for s in few.sites] == [ids[1], ids[0]]
    assert few.sites[0]["kind_label"] == "enterprise" and few.sites[0]["days_overdue"] == 9


def test_figures_link_to_their_records_page_for_readers_only(seeded_client):
    from support.accounts import signed_in

    html = _page(seeded_client, "2021-07-29")
    assert 'href="/reports/daily/2021-07-29/records/road_collapse_handled"' in html
    assert "/api/v1/metrics/" not in html
    field = signed_in(seeded_client.application, "field").get("/?date=2021-07-29").get_data(as_text=True)
    assert "/records/" not in field and 'data-key="road_collapse_handled"' in field
    page = seeded_client.get("/reports/daily/2021-07-29/records/road_collapse_handled")
    assert page.status_code == 200 and page.mimetype == "text/html"
