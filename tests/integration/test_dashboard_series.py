"""The home page's daily series (burn-down and restart curve) come from one pass over the roll-up, and give for
every day of the seed exactly the figures the registry's cube gives for that day on its own."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select
from support.accounts import signed_in
from support.databases import BACKENDS, module_app
from support.sites import new_site, post_event

from recovery.dashboard import trends
from recovery.db import get_session
from recovery.incident import current_incident
from recovery.metrics import cube_at, evaluate_all
from recovery.models import Event
from recovery.timeutil import end_of_day, local_day, now


@pytest.fixture(scope="module", params=BACKENDS)
def shared_app(request, tmp_path_factory):
    """One seeded app per backend: nothing here writes."""
    yield from module_app(request, tmp_path_factory)


def _last_seed_day(session) -> date:
    return local_day(session.scalar(select(func.max(Event.valid_at))))


def test_the_one_pass_series_equals_cube_at_on_every_day_of_the_seed(shared_app):
    with shared_app.test_request_context():
        session = get_session()
        first, last = current_incident().first_day, _last_seed_day(session) + timedelta(days=2)
        figures = trends.daily_figures(session, last)
        assert sorted(figures) == [first + timedelta(days=i) for i in range((last - first).days + 1)]
        assert len(figures) > 40
        for day, values in figures.items():
            cube = cube_at(session, end_of_day(day))
            expected = evaluate_all(cube, keys=list(trends.SERIES_KEYS))
            assert values == {k: expected[k].value for k in trends.SERIES_KEYS}, day
        # the seed's own figures are in it: 236 collapse points by the article's day
        assert figures[date(2021, 7, 29)]["road_collapse_total"] == 236


def test_the_dashboard_reads_the_series_in_one_query_not_one_per_day(shared_app, monkeypatch):
    """The board asks `daily_figures` once, which reads the roll-up in one statement: a day 41 days further on
    costs the same statements, not one cube query more per day."""
    from recovery.dashboard import board

    real = trends.daily_values
    runs = []
    monkeypatch.setattr(trends, "daily_values", lambda *a, **k: runs.append(a[1]) or real(*a, **k))
    engine = shared_app.extensions["recovery.engine"]
    counted: dict[date, list[str]] = {}
    with shared_app.test_request_context():
        session = get_session()
        for day in (date(2021, 8, 20), date(2021, 9, 30)):
            board.dashboard(session, day, {}, True)  # the point tables are built and cached once
            statements = counted[day] = []
            listen = lambda *args, statements=statements: statements.append(args[2])  # noqa: E731
            event.listen(engine, "before_cursor_execute", listen)
            try:
                result = board.dashboard(session, day, {}, True)
            finally:
                event.remove(engine, "before_cursor_execute", listen)
            counted[day] = [s for s in statements if "rollup_delta" in s]
            assert len(result["burn"].days) == (day - current_incident().first_day).days + 1
    assert runs == [date(2021, 8, 20)] * 2 + [date(2021, 9, 30)] * 2
    assert len(counted[date(2021, 8, 20)]) == len(counted[date(2021, 9, 30)]) == 1


def test_a_day_before_the_incident_has_an_empty_series(shared_app):
    with shared_app.test_request_context():
        session = get_session()
        before = current_incident().first_day - timedelta(days=1)
        assert trends.daily_figures(session, before) == {}


def test_the_home_page_shows_the_series_of_the_day_asked(shared_app):
    client = signed_in(shared_app, "commander")
    response = client.get("/?date=2021-07-29")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "chart burn" in page and "chart restart" in page


def test_a_board_is_kept_until_the_ledger_changes(app, client, geodata):
    """The board of a day is built once per ledger version: asked again it is the same; after a change is
    committed it is built again and shows the change."""
    from collections import OrderedDict

    from recovery.dashboard import board

    point = geodata.subdistrict("fengyang").geometry.representative_point()
    site_id = new_site(client, position={"lon": point.x, "lat": point.y})["properties"]["id"]
    cache: OrderedDict = OrderedDict()
    today = local_day(now())
    with app.test_request_context():
        first = board.dashboard(get_session(), today, cache, True)
        assert board.dashboard(get_session(), today, cache, True) is first
        english = board.dashboard(get_session(), today, cache, False)
    assert english is not first and english["burn"] == first["burn"]
    assert post_event(client, site_id, {"status": "restored"}, version=1).status_code == 201
    with app.test_request_context():
        after = board.dashboard(get_session(), today, cache, True)
    assert after is not first
    assert (first["burn"].remaining[-1], after["burn"].remaining[-1]) == (1, 0)
