"""Every breakdown adds up to its total (issue 16): the figures by sub-district with a 未分配 (not assigned) area
for the teams, work items and sites no sub-district holds, and the report's table by sub-district and kind, on
every day of the seed."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from support.accounts import auth
from support.sites import new_site

from recovery.metrics import METRICS, UNASSIGNED, by_area, cube_at, evaluate_all
from recovery.reports.kindtable import TABLE_KINDS, kind_table
from recovery.timeutil import end_of_day
from recovery.vocab import SUBDISTRICT_ORDER

FIRST, LAST = date(2021, 7, 20), date(2021, 8, 31)
#: figures that are counts or sums (a share does not add up across areas)
ADDITIVE = [m.key for m in METRICS if m.denominator is None]


def _days():
    day = FIRST
    while day <= LAST:
        yield day
        day += timedelta(days=1)


@pytest.mark.slow
def test_every_count_by_area_adds_up_to_the_zone_on_every_day(seeded_session):
    with_rest = 0
    for day in _days():
        cube = cube_at(seeded_session, end_of_day(day))
        zone = evaluate_all(cube, None, ADDITIVE)
        areas = by_area(cube, ADDITIVE)
        assert list(areas)[: len(SUBDISTRICT_ORDER)] == list(SUBDISTRICT_ORDER)
        for key in ADDITIVE:
            total = sum(figures[key].numerator for figures in areas.values())
            assert total == pytest.approx(zone[key].numerator, abs=1e-6), (day, key)
        with_rest += UNASSIGNED in areas
    assert with_rest == (LAST - FIRST).days + 1  # the seed's teams without a sub-district: on every day


def test_the_not_assigned_area_holds_the_teams_and_work_items_without_a_sub_district(seeded_session):
    cube = cube_at(seeded_session, end_of_day(date(2021, 8, 31)))
    rest = by_area(cube)[UNASSIGNED]
    assert rest["rescue_volunteers"].numerator > 0 and rest["work_items_closed"].numerator > 0
    # an area where nothing is counted is left out rather than shown as a row of zeros
    sites_only = by_area(cube, ["road_collapse_total", "silt_sites_cleared"])
    assert UNASSIGNED not in sites_only


@pytest.mark.slow
def test_the_table_by_sub_district_and_kind_adds_up_on_every_day(seeded_session):
    for day in _days():
        as_of = end_of_day(day)
        cube = cube_at(seeded_session, as_of)
        rows = kind_table(seeded_session, cube, as_of)
        for kind in TABLE_KINDS:
            parts = [r for r in rows if r["kind"] == kind and r["subdistrict"] is not None]
            (total,) = [r for r in rows if r["kind"] == kind and r["subdistrict"] is None]
            for column in ("total", "done", "in_progress", "overdue"):
                assert sum(r[column] for r in parts) == total[column], (day, kind, column)
            assert total["done"] + total["in_progress"] <= total["total"], (day, kind)


def test_the_report_and_the_dashboard_show_the_not_assigned_row(seeded_client, seeded_session):
    """The report's JSON lists it when its figures count anything; the dashboard's table names it 未分配."""
    from support.accounts import auth, login

    report = seeded_client.get("/api/v1/reports/daily/2021-08-31", headers=auth("reporter")).get_json()
    areas = report["by_subdistrict"]
    assert list(areas)[:5] == list(SUBDISTRICT_ORDER)
    for key in ("road_collapse_total", "silt_m3", "enterprises_stopped"):
        zone = next(f for f in report["figures"] if f["key"] == key)["numerator"]
        assert sum(a[key]["numerator"] for a in areas.values()) == pytest.approx(zone)
    login(seeded_client, "commander")
    page = seeded_client.get("/?date=2021-08-31").get_data(as_text=True)
    table = page.split('<table class="subdistricts">', 1)[1].split("</table>", 1)[0]
    assert table.count('<th scope="row">') == len(areas) and "石佛" in table


def test_a_community_with_one_utility_restored_and_another_cut_is_in_progress(seeded_session):
    """On 22 July 2021 many communities had power back and water still cut: the table counts them in progress,
    and the cell lists exactly them (it counted none before, their overall status being still the first)."""
    from recovery.ledger.asof import track_statuses
    from recovery.reports.kindtable import cell_records

    as_of = end_of_day(date(2021, 7, 22))
    rows = kind_table(seeded_session, cube_at(seeded_session, as_of), as_of)
    (total,) = [r for r in rows if r["kind"] == "residential_community" and r["subdistrict"] is None]
    listed = cell_records(seeded_session, "residential_community", "in_progress", as_of)
    assert total["in_progress"] == len(listed) > 0
    tracks = track_statuses(seeded_session, [r["id"] for r in listed], as_of, None)
    for record in listed:
        utilities = {t: s for t, s in tracks[record["id"]].items() if t}
        assert "restored" in utilities.values() and "cut" in utilities.values(), utilities
    assert total["done"] + total["in_progress"] <= total["total"]


@pytest.mark.parametrize("name", ["未分配", "unassigned", "Not Assigned", "ＵＮＡＳＳＩＧＮＥＤ"])
def test_the_api_and_the_cli_ask_for_the_not_assigned_area_by_name(seeded_client, seeded_runner, name):
    """`subdistrict=未分配` (any spelling) names the area of the breakdowns' 未分配 row at every door."""
    response = seeded_client.get(
        "/api/v1/metrics", query_string={"date": "2021-07-29", "subdistrict": name}, headers=auth("commander")
    )
    assert response.status_code == 200, response.get_json()
    api = {f["key"]: f["numerator"] for f in response.get_json()["figures"]}
    zone = seeded_client.get(
        "/api/v1/metrics", query_string={"date": "2021-07-29"}, headers=auth("commander")
    ).get_json()
    zone_teams = next(f["numerator"] for f in zone["figures"] if f["key"] == "rescue_party_orgs")
    assert sum(api[k] for k in ("rescue_party_orgs", "rescue_enterprises_groups")) > 0 and (
        api["rescue_party_orgs"] < zone_teams
    )
    result = seeded_runner.invoke(
        args=["metrics", "--as-of", "2021-07-29", "--subdistrict", name, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    cli = {f["key"]: f["numerator"] for f in json.loads(result.output)["figures"]}
    assert cli == api


def test_the_cli_reads_a_sub_district_by_its_chinese_name(seeded_runner):
    """`recovery metrics --subdistrict 石佛` counted nothing: the name went to the cube unread."""

    def numerators(name):
        result = seeded_runner.invoke(
            args=["metrics", "--as-of", "2021-07-29", "--subdistrict", name, "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        return {f["key"]: f["numerator"] for f in json.loads(result.output)["figures"]}

    assert numerators("石佛") == numerators("shifo")
    assert numerators("石佛")["road_collapse_total"] > 0
    bad = seeded_runner.invoke(args=["metrics", "--as-of", "2021-07-29", "--subdistrict", "火星"])
    assert bad.exit_code != 0 and "火星" in bad.output


def test_the_site_list_asks_for_sites_outside_every_sub_district(client):
    outside = new_site(client, position={"lon": 113.30, "lat": 34.60, "crs": "wgs84"}, who="commander")
    assert outside["properties"]["subdistrict"] in (None, "")
    listed = client.get(
        "/api/v1/sites", query_string={"subdistrict": "未分配"}, headers=auth("commander")
    ).get_json()
    assert [f["properties"]["id"] for f in listed["features"]] == [outside["properties"]["id"]]
    inside = client.get(
        "/api/v1/sites", query_string={"subdistrict": "fengyang"}, headers=auth("commander")
    ).get_json()
    assert inside["features"] == []
