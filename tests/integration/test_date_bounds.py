"""Every date a request or command names is bounded to the incident's window (recovery.incident), and what a page
costs does not grow with the distance of the date it shows (issue 12, finding 8)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event
from support.accounts import auth, signed_in
from support.databases import BACKENDS, module_app

from recovery.errors import DateOutOfRange, ValidationError
from recovery.incident import FIRST_DAY, WINDOW_START
from recovery.timeutil import (
    end_of_day,
    local_day,
    now,
    parse_as_of,
    parse_day,
    parse_instant,
    query_window,
    start_of_day,
)

MICRO = timedelta(microseconds=1)


@pytest.fixture(scope="module", params=BACKENDS)
def shared_app(request, tmp_path_factory):
    """One seeded app per backend for the whole module: nothing here writes (every date refused is refused
    before any work), so the tests can share it."""
    yield from module_app(request, tmp_path_factory)


@pytest.fixture(scope="module")
def page_client(shared_app):
    return signed_in(shared_app, "commander")


# --- the rule, without Flask -------------------------------------------------------------------------------


def test_the_window_runs_from_its_start_to_tomorrow():
    first, last = query_window()
    assert first == WINDOW_START <= FIRST_DAY - timedelta(days=1)  # the day before the storm can be asked for
    assert last == local_day(now()) + timedelta(days=1)  # the zone's tomorrow


def test_a_day_at_each_edge_is_taken_and_one_beyond_is_refused():
    first, last = query_window()
    assert parse_day(first.isoformat()) == first
    assert parse_day(last.isoformat()) == last
    for outside in (first - timedelta(days=1), last + timedelta(days=1), date(1, 1, 1), date(9999, 12, 31)):
        with pytest.raises(DateOutOfRange) as refused:
            parse_day(outside.isoformat())
        assert first.isoformat() in str(refused.value) and last.isoformat() in str(refused.value)


def test_an_instant_at_each_edge_is_taken_and_one_beyond_is_refused():
    first, last = query_window()
    start, end = start_of_day(first), end_of_day(last)
    assert parse_as_of(start.isoformat()) == start
    assert parse_as_of(end.isoformat()) == end
    for outside in (start - MICRO, end + MICRO):
        with pytest.raises(DateOutOfRange):
            parse_as_of(outside.isoformat())


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00", "9999-12-31 23:59"]
)
def test_instants_without_a_utc_form_are_refused_not_crashed(text):
    """`parse_instant` is also what events' valid_at goes through: no instant may overflow into a 500."""
    with pytest.raises(ValidationError):
        parse_as_of(text)
    if text.startswith("0001"):
        with pytest.raises(ValidationError):
            parse_instant(text)


# --- every endpoint that takes a date ----------------------------------------------------------------------

#: (path with {} for the date, what it takes: "day" or "instant"); pages are fetched signed in, /api with a token
DATE_ENDPOINTS = [
    ("/?date={}", "day"),
    ("/map?date={}", "day"),
    ("/map/clusters?date={}", "day"),
    ("/api/v1/metrics?as_of={}", "instant"),
    ("/api/v1/metrics?known_at={}", "instant"),
    ("/api/v1/metrics/road_collapse_total/records?as_of={}", "instant"),
    ("/api/v1/reports/daily/{}", "day"),
    ("/api/v1/reports/daily/2021-07-29?known_at={}", "instant"),
    ("/api/v1/reports/daily/{}/corrections", "day"),  # 404 inside the window: nothing published that day
    ("/reports/daily/{}", "day"),
    ("/reports/daily/2021-07-29?known_at={}", "instant"),
    ("/reports/daily/{}/records/road_collapse_total", "day"),
    ("/reports/daily/2021-07-29/records/road_collapse_total?known_at={}", "instant"),
    ("/reports/daily/{}/table/road_collapse/total", "day"),
    ("/api/v1/export?as_of={}&kind=road_collapse", "instant"),
    ("/ogc/collections/road_collapse/items?datetime={}", "instant"),
    ("/ogc/collections/road_collapse/items?datetime=2021-07-20/{}", "instant"),
]


def _get(shared_app, page_client, path: str, lang: str = "zh"):
    path += ("&" if "?" in path else "?") + f"lang={lang}"
    client, headers = (
        (shared_app.test_client(), auth("commander")) if path.startswith("/api/") else (page_client, {})
    )
    response = client.get(path, headers=headers)
    response.get_data()  # a streamed export keeps its request's context until it is read
    response.close()
    return response


def _edges(kind: str) -> dict[str, tuple[str, str]]:
    """inside/outside values at each edge, as the endpoint's kind of parameter spells them."""
    first, last = query_window()
    if kind == "day":
        return {
            "first": (first.isoformat(), (first - timedelta(days=1)).isoformat()),
            "last": (last.isoformat(), (last + timedelta(days=1)).isoformat()),
        }
    start, end = start_of_day(first), end_of_day(last)
    return {
        "first": (start.isoformat(), (start - timedelta(seconds=1)).isoformat()),
        "last": (end.isoformat(), (end + timedelta(seconds=1)).isoformat()),
    }


@pytest.mark.parametrize("edge", ["first", "last"])
@pytest.mark.parametrize(("path", "kind"), DATE_ENDPOINTS)
def test_each_date_endpoint_takes_each_edge_and_refuses_beyond_it(shared_app, page_client, path, kind, edge):
    inside, outside = (v.replace("+", "%2B") for v in _edges(kind)[edge])
    ok = _get(shared_app, page_client, path.format(inside))
    expected = 404 if path.endswith("/corrections") else 200
    assert ok.status_code == expected, (path, inside, ok.status_code, ok.get_data(as_text=True)[:300])
    first, last = query_window()
    for lang, words in (("zh", "超出本系统覆盖的日期范围"), ("en", "outside the days this tracker covers")):
        refused = _get(shared_app, page_client, path.format(outside), lang)
        assert refused.status_code == 400, (path, outside, refused.status_code)
        text = refused.get_data(as_text=True)
        assert words in text and first.isoformat() in text and last.isoformat() in text
        if path.startswith("/api/"):
            assert refused.get_json()["error"]["code"] == "date_out_of_range"
        else:
            assert refused.mimetype == "text/html"


def test_command_dates_are_bounded_too(shared_app):
    """The map's date inside an assignment's filter is a date to look at; a deadline may lie up to a year
    ahead, no further (and 9999-12-31 is refused, not an overflow)."""
    client = shared_app.test_client()
    first, last = query_window()
    for body in (
        {"team_id": 1, "filter": {"date": (last + timedelta(days=1)).isoformat()}},
        {"team_id": 1, "filter": {"date": (first - timedelta(days=1)).isoformat()}},
        {"team_id": 1, "site_ids": [1], "deadline": "9999-12-31"},
        {"team_id": 1, "site_ids": [1], "deadline": (date.today() + timedelta(days=400)).isoformat()},
        {"team_id": 1, "site_ids": [1], "deadline": "0001-01-01"},
    ):
        response = client.post("/api/v1/command/assign", json=body, headers=auth("commander"))
        assert response.status_code == 400, (body, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "date_out_of_range"


@pytest.mark.parametrize(
    "args",
    [
        ["metrics", "--as-of", "2060-01-01"],
        ["metrics", "--as-of", "2021-07-29", "--known-at", "2060-01-01T00:00:00+08:00"],
        ["export", "--format", "csv", "--as-of", "9999-12-31"],
        ["report", "daily", "--date", "0001-01-01"],
    ],
)
def test_commands_refuse_dates_outside_the_window(shared_app, args, tmp_path):
    extra = ["--out", str(tmp_path / "sites.csv")] if args[0] == "export" else []
    out = shared_app.test_cli_runner().invoke(args=[*args, *extra])
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output and "2021-07-01" in out.output


# --- the cost of a page does not follow the distance of its date -------------------------------------------


def _statements(shared_app, client, path: str, headers=None) -> int:
    engine = shared_app.extensions["recovery.engine"]
    count = 0

    def counted(*_args):
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counted)
    try:
        response = client.get(path, headers=headers or {})
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert response.status_code == 200, (path, response.get_data(as_text=True)[:300])
    return count


@pytest.mark.parametrize(
    "path",
    [
        "/?date={}",  # the burn-down and restart curves: once one cube query per day since 20 July
        "/reports/daily/{}?known_at=2021-08-30T12:00:00%2B08:00",  # as known then: once a ledger fold per day
    ],
)
def test_a_far_date_costs_as_many_queries_as_a_near_one(shared_app, page_client, path):
    last = query_window()[1]
    near, far = date(2021, 9, 3), last
    _statements(shared_app, page_client, path.format(near.isoformat()))  # warm what is cached per process
    _statements(shared_app, page_client, path.format(far.isoformat()))
    near_count = _statements(shared_app, page_client, path.format(near.isoformat()))
    far_count = _statements(shared_app, page_client, path.format(far.isoformat()))
    # the same work (a statement more or less: the lists of overdue items differ), not one more per day
    assert far_count <= near_count + 3, (near_count, far_count)


@pytest.mark.parametrize("path", ["/?date={}", "/reports/daily/{}"])
def test_a_far_date_draws_no_more_than_a_near_one(shared_app, page_client, path):
    """The charts plot every day up to the date, but a flat run is one segment and a day without removals no
    bar: the page for a day five years on is the size of the page for the day after the seed ends."""
    near = page_client.get(path.format("2021-09-03"))
    far = page_client.get(path.format(query_window()[1].isoformat()))
    assert near.status_code == far.status_code == 200
    assert len(far.data) <= len(near.data) * 1.05, (len(near.data), len(far.data))


def test_thinning_keeps_the_line_it_draws():
    from recovery.charts import thin

    points = [(0, 5), (1, 5), (2, 5), (3, 4), (4, 4), (5, 4), (6, 4), (7, 9)]
    assert thin(points) == [(0, 5), (2, 5), (3, 4), (6, 4), (7, 9)]
    assert thin([]) == [] and thin([(0, 1)]) == [(0, 1)] and thin([(0, 1), (1, 1)]) == [(0, 1), (1, 1)]


def test_daily_series_are_evaluated_on_the_days_with_data_only(shared_app, monkeypatch):
    """The report's series evaluate every figure only on the days something changed (the seed's 43), however
    far the report's day lies; the days between carry the last values."""
    from recovery.db import get_session
    from recovery.reports import series

    calls = []
    real = series.evaluate
    monkeypatch.setattr(series, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    with shared_app.test_request_context():
        near = series.daily_series(get_session(), date(2021, 9, 3))
        near_calls = len(calls)
        far = series.daily_series(get_session(), query_window()[1])
    assert len(calls) - near_calls == near_calls  # the same evaluations, not one per day
    assert len(far["days"]) > len(near["days"]) + 1000
    for key, values in far["cumulative"].items():
        assert values[: len(near["days"])] == near["cumulative"][key]
        assert set(values[len(near["days"]) :]) == {near["cumulative"][key][-1]}  # nothing changes after


def test_carried_figures_equal_the_figures_of_each_day(shared_app):
    """Carrying a day's figures over the days without data gives what evaluating each day would: checked
    against the registry's own cube for every day around the end of the seed, as of now and as known then."""
    from recovery.db import get_session
    from recovery.metrics import cube_at, evaluate_all
    from recovery.reports.series import SERIES_KEYS, daily_values
    from recovery.timeutil import parse_instant

    known_at = parse_instant("2021-08-30T12:00:00+08:00")
    with shared_app.test_request_context():
        session = get_session()
        for cutoff in (None, known_at):
            days, values = daily_values(session, date(2021, 9, 3), SERIES_KEYS, cutoff)
            for i, day in enumerate(days):
                if day < date(2021, 8, 29):
                    continue
                figures = evaluate_all(cube_at(session, end_of_day(day), cutoff), keys=list(SERIES_KEYS))
                assert {k: values[k][i] for k in SERIES_KEYS} == {k: figures[k].value for k in SERIES_KEYS}, (
                    day,
                    cutoff,
                )


@pytest.mark.parametrize(
    "valid_at", ["0001-01-01T00:00:00+08:00", "2021-06-30T23:59:00+08:00", "9999-12-31T00:00"]
)
def test_an_events_time_outside_the_window_is_refused_and_nothing_is_stored(seeded_app, valid_at):
    client = seeded_app.test_client()
    site = client.get("/api/v1/sites?limit=1", headers=auth("commander")).get_json()["features"][0]
    body = {"status": "secured", "valid_at": valid_at}
    response = client.post(
        f"/api/v1/sites/{site['id']}/events",
        json=body,
        headers={**auth("commander"), "If-Match": f'"{site["properties"]["version"]}"'},
    )
    assert response.status_code == 400, response.get_json()
    # year 1 at +08:00 is before the first instant UTC can hold: refused as not a time at all
    assert response.get_json()["error"]["code"] in ("date_out_of_range", "invalid_input")
    after = client.get(f"/api/v1/sites/{site['id']}", headers=auth("commander")).get_json()
    assert after["properties"]["version"] == site["properties"]["version"]


def test_the_dashboards_date_control_and_steps_stay_in_the_window(seeded_app):
    from recovery.timeutil import query_window

    client = signed_in(seeded_app, "commander")
    first, last = query_window()
    page = client.get(f"/?date={first.isoformat()}").get_data(as_text=True)
    assert f'min="{first.isoformat()}" max="{last.isoformat()}"' in page
    assert f"?date={(first - timedelta(days=1)).isoformat()}" not in page  # no step out of the window
    assert f"?date={(first + timedelta(days=1)).isoformat()}" in page
    page = client.get(f"/?date={last.isoformat()}").get_data(as_text=True)
    assert f"?date={(last + timedelta(days=1)).isoformat()}" not in page
