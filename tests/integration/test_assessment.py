"""月考核评比: a month's ranking of the responsible units by the work orders due in it (on time, overdue, on-time and
completion rates, folded as of the month's end), of the sub-districts by their sites (the dashboard's ranking) and
their orders, with the definitions; the page, the JSON and the Excel ledger."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from support.accounts import auth
from support.databases import db
from support.sites import new_site

from recovery import workitems
from recovery.dashboard.ranking import rank
from recovery.map.points import build_table
from recovery.timeutil import end_of_day, parse_instant
from recovery.vocab import SUBDISTRICT_ORDER


def _at(text: str):
    return parse_instant(text)


def _order(session, unit, opened, *, severity="general", site_ids=(), steps=()):
    item, _ = workitems.open_work_item(
        session,
        category="supervision",
        title=f"{unit} {opened}",
        responsible_unit=unit,
        severity=severity,
        site_ids=site_ids,
        actor="测试指挥",
        valid_at=_at(opened),
    )
    session.commit()
    for action, at in steps:
        workitems.advance_work_item(
            session, item.id, action=f"work_item_{action}", actor="测试", valid_at=_at(at)
        )
        session.commit()
    return item.id


@pytest.fixture
def orders(app, client):
    """Orders with known outcomes in August 2021 (a general order opened at T is due at T + 7 days)."""
    site = new_site(client)["properties"]  # in fengyang
    with db(app) as s:
        # 城市管理局: due 8 Aug 10:00 — one on time, one late, one never resolved
        _order(
            s,
            "urban_management",
            "2021-08-01T10:00:00+08:00",
            steps=[("resolve", "2021-08-05T10:00:00+08:00")],
        )
        _order(
            s,
            "urban_management",
            "2021-08-01T10:00:00+08:00",
            steps=[("resolve", "2021-08-10T10:00:00+08:00")],
        )
        _order(s, "urban_management", "2021-08-01T10:00:00+08:00", site_ids=[site["id"]])
        # 商务局: two on time (one closed)
        _order(s, "commerce", "2021-08-03T09:00:00+08:00", steps=[("resolve", "2021-08-04T09:00:00+08:00")])
        _order(
            s,
            "commerce",
            "2021-08-03T09:00:00+08:00",
            site_ids=[site["id"]],
            steps=[("resolve", "2021-08-09T09:00:00+08:00"), ("close", "2021-08-11T09:00:00+08:00")],
        )
        # 卫生健康局: resolved on time, then returned: not resolved at the month's end, so overdue
        _order(
            s,
            "health",
            "2021-08-01T10:00:00+08:00",
            steps=[("resolve", "2021-08-04T10:00:00+08:00"), ("return", "2021-08-06T10:00:00+08:00")],
        )
        # not due in August: due 27 July (resolved 2 August), and a major order due 19 September
        _order(s, "commerce", "2021-07-20T10:00:00+08:00", steps=[("resolve", "2021-08-02T10:00:00+08:00")])
        _order(s, "commerce", "2021-08-20T10:00:00+08:00", severity="major")
    return site


def _get(client, month, who="commander"):
    return client.get(f"/api/v1/assessment?month={month}", headers=auth(who))


def test_units_ranked_by_known_outcomes(client, orders):
    data = _get(client, "2021-08").get_json()
    assert data["month"] == "2021-08" and data["as_of"] == "2021-09-01T00:00:00+08:00"
    rows = {r["unit"]: r for r in data["units"]}
    assert {k: rows["urban_management"][k] for k in ("due", "on_time", "overdue", "pending", "resolved")} == {
        "due": 3,
        "on_time": 1,
        "overdue": 2,
        "pending": 0,
        "resolved": 2,
    }
    assert rows["urban_management"]["on_time_rate"] == 33.3
    assert rows["urban_management"]["completion_rate"] == 66.7
    assert (rows["commerce"]["due"], rows["commerce"]["on_time"], rows["commerce"]["on_time_rate"]) == (
        2,
        2,
        100.0,
    )
    assert (rows["health"]["due"], rows["health"]["overdue"], rows["health"]["completion_rate"]) == (
        1,
        1,
        0.0,
    )
    ranked = [(r["rank"], r["unit"]) for r in data["units"] if r["rank"]]
    assert ranked == [(1, "commerce"), (2, "urban_management"), (3, "health")]
    assert rows["planning_housing"] == {
        **rows["planning_housing"],
        "rank": None,
        "due": 0,
        "on_time_rate": None,
        "completion_rate": None,
    }
    assert rows["urban_management"]["unit_label"] == "城市管理局"
    # the sub-district of the orders' site: one of 城市管理局's (never resolved) and one of 商务局's (on time)
    fengyang = next(r for r in data["subdistricts"] if r["subdistrict"] == "fengyang")
    assert fengyang["subdistrict_label"] == "枫杨办事处"
    assert (fengyang["work_orders"]["due"], fengyang["work_orders"]["on_time"]) == (2, 1)
    assert fengyang["work_orders"]["overdue"] == 1
    assert {d["key"] for d in data["definitions"]} >= {
        "due",
        "on_time",
        "overdue",
        "on_time_rate",
        "completion_rate",
    }
    assert all(d["definition"] for d in data["definitions"])


def test_a_month_is_read_as_the_ledger_stood_at_its_end(client, orders):
    july = {r["unit"]: r for r in _get(client, "2021-07").get_json()["units"]}
    # due 27 July, resolved only on 2 August: overdue and not resolved as July ended
    assert (july["commerce"]["due"], july["commerce"]["overdue"], july["commerce"]["resolved"]) == (1, 1, 0)
    assert july["urban_management"]["due"] == 0
    september = {r["unit"]: r for r in _get(client, "2021-09").get_json()["units"]}
    assert (september["commerce"]["due"], september["commerce"]["overdue"]) == (1, 1)


def test_an_empty_month(client):
    data = _get(client, "2021-08").get_json()
    assert all(r["due"] == 0 and r["rank"] is None for r in data["units"])
    assert all(r["work_orders"]["due"] == 0 for r in data["subdistricts"])
    page = client.get("/assessment?month=2021-08", headers=auth("reporter")).get_data(as_text=True)
    assert "本月没有到期的事项" in page
    book = load_workbook(
        BytesIO(client.get("/assessment/export.xlsx?month=2021-08", headers=auth("admin")).data)
    )
    assert book.worksheets[0].max_row == 1 + len(data["units"])


@pytest.mark.parametrize("month", ["2021-13", "21-08", "2021-8", "abc", "2999-01", "1999-12"])
def test_a_bad_month_is_a_4xx_with_a_message(client, month):
    api = _get(client, month)
    assert api.status_code == 400 and month in api.get_json()["error"]["message"]
    page = client.get(f"/assessment?month={month}", headers=auth("commander"))
    assert page.status_code == 400 and 'role="alert"' in page.get_data(as_text=True)
    assert client.get(f"/assessment/export.xlsx?month={month}", headers=auth("commander")).status_code == 400


@pytest.mark.parametrize("who", ["commander", "reporter", "admin"])
def test_the_page_renders_for_each_reader(client, orders, who):
    response = client.get("/assessment?month=2021-08", headers=auth(who))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "月考核评比" in page and "城市管理局" in page and "33.3%" in page and "66.7%" in page
    assert "指标口径" in page and "当月应办结" in page
    assert 'href="/assessment/export.xlsx?month=2021-08"' in page
    english = client.get("/assessment?month=2021-08&lang=en", headers=auth(who)).get_data(as_text=True)
    assert "Monthly evaluation" in english and "Urban Management Bureau" in english


@pytest.mark.parametrize("who", ["field", "unit_urban"])
def test_other_roles_are_refused(client, who):
    for url in ("/assessment", "/api/v1/assessment?month=2021-08", "/assessment/export.xlsx?month=2021-08"):
        assert client.get(url, headers=auth(who)).status_code == 403, url


def test_the_excel_ledger(client, orders):
    response = client.get("/assessment/export.xlsx?month=2021-08", headers=auth("reporter"))
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "assessment-2021-08.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(BytesIO(response.data))
    assert book.sheetnames == ["责任单位 2021-08", "办事处 2021-08", "指标口径"]
    units = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    assert units[0][:3] == ["排名", "责任单位", "当月应办结"]
    rows = {r[1]: r for r in units[1:]}
    assert rows["商务局"][:8] == [1, "商务局", 2, 2, 0, 0, 2, 100]
    assert rows["城市管理局"][:9] == [2, "城市管理局", 3, 1, 2, 0, 2, 33.3, 66.7]
    assert rows["国土规划住建局"][0] is None and rows["国土规划住建局"][2] == 0
    subs = [[c.value for c in row] for row in book.worksheets[1].iter_rows()]
    assert subs[0][:3] == ["排名", "办事处", "恢复点位数"]
    assert {r[1] for r in subs[1:]} == {"石佛办事处", "沟赵办事处", "双桥办事处", "枫杨办事处", "梧桐办事处"}
    definitions = [[c.value for c in row] for row in book.worksheets[2].iter_rows()]
    assert definitions[0] == ["指标", "口径"] and any(r[0] == "按期办结" for r in definitions)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row)  # no live formula anywhere
    english = load_workbook(
        BytesIO(client.get("/assessment/export.xlsx?month=2021-08&lang=en", headers=auth("admin")).data)
    )
    assert english.worksheets[0]["B1"].value == "Responsible unit"


def test_sub_districts_carry_the_dashboards_site_ranking(seeded_app, seeded_client):
    data = seeded_client.get("/api/v1/assessment?month=2021-07", headers=auth("reporter")).get_json()
    as_of = end_of_day(parse_instant("2021-07-31T12:00:00+08:00").date())
    with db(seeded_app) as session:
        expected = rank(build_table(session, as_of), as_of)
    got = [
        (r["subdistrict"], r["sites"]["done"], r["sites"]["total"], r["sites"]["completion"])
        for r in data["subdistricts"]
    ]
    assert got == [(r["subdistrict"], r["done"], r["total"], r["completion"]) for r in expected]
    assert [r["rank"] for r in data["subdistricts"]] == [1, 2, 3, 4, 5]
    assert {r["subdistrict"] for r in data["subdistricts"]} == set(SUBDISTRICT_ORDER)
    assert sum(r["sites"]["total"] for r in data["subdistricts"]) > 1000
