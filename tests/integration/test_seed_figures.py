"""The 7·20 seed reproduces the article's figures for 29 July, on SQLite and PostGIS, by every path."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from support.article import ARTICLE, ARTICLE_PARAGRAPH

from recovery.geodata import SUBDISTRICT_ORDER
from recovery.ledger.bulk import verify
from recovery.metrics import METRICS, cube_at, evaluate_all
from recovery.metrics.cube import cube_from_ledger, cube_from_rollup
from recovery.metrics.records import records_for
from recovery.reports.daily import daily_report
from recovery.timeutil import end_of_day, parse_instant

JULY_29 = date(2021, 7, 29)


def test_article_figures_on_29_july(seeded_session):
    figures = evaluate_all(cube_from_ledger(seeded_session, end_of_day(JULY_29)))
    assert {k: figures[k].printed for k in ARTICLE} == ARTICLE
    # the two restart rates the brief insists on showing side by side
    assert figures["restart_headcount_rate"].printed == "99.11"
    assert figures["composite_restart_rate"].numerator == pytest.approx(0.9875 * 7630 * 100)
    assert figures["above_size_restarted"].printed == "279"
    assert figures["community_restored"].value == figures["community_total"].value > 0
    assert figures["signals_ring4_repaired_rate"].printed == "100.00"
    assert figures["street_light_repaired_rate"].value < 1
    assert figures["rescue_volunteers"].value > 50_000


def test_bulletin_reads_like_the_article(seeded_session):
    report = daily_report(seeded_session, JULY_29)
    assert report["bulletin"] == ARTICLE_PARAGRAPH


@pytest.mark.slow  # 4.5 s on each backend
def test_bulletin_json_and_records_agree(seeded_session):
    """Every figure in the JSON equals its records: one row per unit counted, values adding up to sums."""
    report = daily_report(seeded_session, JULY_29)
    as_of = end_of_day(JULY_29)
    by_key = {f["key"]: f for f in report["figures"]}
    for key in ARTICLE:
        assert by_key[key]["printed"] == ARTICLE[key]
        assert by_key[key]["definition"]["text"]
    for metric in METRICS:
        rows = records_for(seeded_session, metric.key, as_of)
        total = sum(r["value"] for r in rows)
        assert total == pytest.approx(by_key[metric.key]["numerator"]), metric.key
        if metric.numerator.quantity == "n":
            assert len(rows) == by_key[metric.key]["numerator"], metric.key
            assert len({(r["type"], r["id"]) for r in rows}) == len(rows), metric.key
        if metric.denominator is not None:
            rows = records_for(seeded_session, metric.key, as_of, side="denominator")
            assert len(rows) == by_key[metric.key]["denominator"], metric.key


def test_subdistricts_add_up_to_the_zone(seeded_session):
    cube = cube_at(seeded_session, end_of_day(JULY_29))
    zone = evaluate_all(cube)
    parts = [evaluate_all(cube, sub) for sub in SUBDISTRICT_ORDER]
    for key in (
        "road_collapse_total",
        "road_collapse_handled",
        "silt_sites_cleared",
        "silt_m3",
        "enterprises_stopped",
    ):
        assert sum(p[key].numerator for p in parts) == pytest.approx(zone[key].numerator), key
        assert all(p[key].numerator > 0 for p in parts), key


@pytest.mark.slow
def test_rollup_and_ledger_agree_every_day(seeded_session):
    day = date(2021, 7, 20)
    while day <= date(2021, 8, 31):
        from_ledger = evaluate_all(cube_from_ledger(seeded_session, end_of_day(day)))
        from_rollup = evaluate_all(cube_from_rollup(seeded_session, day))
        assert {k: f.printed for k, f in from_ledger.items()} == {
            k: f.printed for k, f in from_rollup.items()
        }, day
        day += timedelta(days=1)


def test_figures_are_consistent_over_time(seeded_session):
    """Counts never exceed totals, handled never goes down, and all collapse points are done by 15 August."""
    previous = None
    day = date(2021, 7, 20)
    while day <= date(2021, 8, 31):
        f = evaluate_all(cube_from_rollup(seeded_session, day))
        assert f["road_collapse_handled"].value <= f["road_collapse_total"].value
        assert f["enterprises_restarted"].value <= f["enterprises_stopped"].value
        assert f["silt_sites_cleared"].value <= f["silt_total"].value
        assert f["community_restored"].value <= f["community_total"].value
        if previous:
            assert f["road_collapse_handled"].value >= previous["road_collapse_handled"].value
            assert f["silt_m3"].value >= previous["silt_m3"].value
        if day >= date(2021, 8, 15):
            assert f["road_collapse_remaining"].value == 0
            assert f["road_collapse_handled"].value == 236
        assert f["work_items_overdue_feedback"].value == 0
        assert f["work_items_overdue_resolve"].value == 0
        previous = f
        day += timedelta(days=1)


def test_main_roads_before_secondary(seeded_session):
    """先主后次: the last main-road collapse point is restored before the last secondary one, and so on."""
    from sqlalchemy import func, select

    from recovery.models import Site

    last = dict(
        seeded_session.execute(
            select(Site.segment, func.max(Site.done_at))
            .where(Site.kind == "road_collapse")
            .group_by(Site.segment)
        ).all()
    )
    assert last["road_class=main"] < last["road_class=secondary"] < last["road_class=branch"]
    assert max(last.values()) < parse_instant("2021-08-16T00:00:00+08:00")


def test_nothing_handled_before_it_was_reported(seeded_session):
    from sqlalchemy import text

    bad = seeded_session.execute(
        text("SELECT count(*) FROM event e JOIN site s ON s.id = e.site_id WHERE e.valid_at < s.reported_at")
    ).scalar_one()
    assert bad == 0


@pytest.mark.slow  # 2.6 s on SQLite, 9.4 s on PostGIS
def test_ledger_verify_clean_after_seed_load(seeded_session):
    assert verify(seeded_session) == []
