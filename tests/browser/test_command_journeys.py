"""The commander's journeys on a desk (and the map on a phone), walked in headless Chromium: a mass assignment is
previewed, confirmed and undone with the undo on record; overdue shows at every zoom under one legend; a popup
names the team; the dashboard lists the overdue sites and its figures open their records. Screenshots of each,
in Chinese and English, go to docs/screenshots/command-*.png (or the test's tmp_path)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select
from support.accounts import auth
from support.browser import SHOTS, sign_in

from recovery.models import Event, Site, Team

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESK = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LANGS = [("zh", "", "已超期"), ("en", "&lang=en", "overdue")]


def _shot(page, tmp_path, name: str, **kwargs) -> None:
    """Kept in docs/screenshots when RECOVERY_SCREENSHOTS is set (as the README's shots are), else in tmp_path."""
    folder = DOCS if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"command-{name}.png"
    page.screenshot(path=str(path), **kwargs)
    assert path.stat().st_size > 10_000


def _ready(page) -> None:
    page.wait_for_function(
        "() => document.getElementById('count-total').textContent !== '…' && !document.body.dataset.loading"
    )


def _make_overdue(app) -> list[int]:
    """Six enterprises still stopped, assigned with deadlines in early August 2021 (confirmed as past): overdue
    now and on 10 August, by 9, 7 and 5 days then (the seed's own sites are all done by their deadlines)."""
    from recovery.command import crews
    from recovery.db import get_session

    with app.app_context():
        session = get_session()
        ids = list(
            session.scalars(
                select(Site.id)
                .where(Site.kind == "enterprise", Site.status.in_(("stopped", "partly_restarted")))
                .order_by(Site.id)
                .limit(6)
            )
        )
        team_id = crews(session)[0][0]
    client = app.test_client()
    for site_id, day in zip(ids, ["2021-08-05", "2021-08-03", "2021-08-01"] * 2, strict=True):
        body = {"site_ids": [site_id], "team_id": team_id, "deadline": day, "confirm_past_deadline": True}
        made = client.post("/api/v1/command/assign", headers=auth("commander"), json=body)
        assert made.status_code == 201, made.get_data(as_text=True)
    return ids


def _events(session) -> int:
    session.rollback()
    return session.scalar(select(func.count(Event.id)))


@pytest.mark.parametrize(("lang", "query", "word"), LANGS, ids=["zh", "en"])
def test_a_mass_assignment_is_previewed_confirmed_and_undone_on_record(
    browser, live_server, seeded_session, tmp_path, lang, query, word
):
    crews = list(seeded_session.scalars(select(Team).where(Team.type == "crew").order_by(Team.id)))
    target = crews[-1]
    wanted = sorted(
        seeded_session.scalars(
            select(Site.id).where(Site.kind == "road_collapse", Site.subdistrict == "fengyang")
        )
    )
    before = {
        s.id: (s.team_id, s.deadline) for s in seeded_session.scalars(select(Site).where(Site.id.in_(wanted)))
    }
    page = browser.new_page(viewport=DESK)
    hosts = []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    sign_in(page, live_server, f"/map?kind=road_collapse&subdistrict=fengyang{query}")
    _ready(page)
    # no team is chosen for the commander: without one nothing is previewed nor assigned
    assert page.input_value("#assign-team") == ""
    count = _events(seeded_session)
    page.click("#assign-filtered")
    page.wait_for_function("() => document.getElementById('command-result').textContent !== ''")
    assert not page.is_visible("#assign-dialog")
    # an empty deadline: the preview says every site keeps its own, how many sites, which teams lose them
    page.select_option("#assign-team", str(target.id))
    page.click("#assign-filtered")
    page.wait_for_selector("#assign-dialog[open]")
    preview = page.inner_text("#assign-preview")
    assert str(len(wanted)) in preview and target.name in preview
    assert page.locator("#assign-losing li").count() >= 1
    assert not page.is_visible("#assign-past") and page.is_enabled("#assign-confirm")
    _shot(page, tmp_path, f"assign-preview-{lang}")
    page.click("#assign-cancel")
    assert _events(seeded_session) == count  # cancelled: nothing written
    # a past deadline: a warning that must be confirmed
    page.fill("#assign-deadline", "2021-08-15")
    page.click("#assign-filtered")
    page.wait_for_selector("#assign-dialog[open]")
    assert page.is_visible("#assign-past") and "2021-08-15" in page.inner_text("#assign-past")
    assert page.is_disabled("#assign-confirm")
    _shot(page, tmp_path, f"assign-past-deadline-{lang}")
    page.check("#assign-past-ok")
    page.click("#assign-confirm")
    page.wait_for_selector("#assign-undo", state="visible")
    assignment = page.evaluate("document.body.dataset.assignment")
    seeded_session.rollback()
    teams = {s.team_id for s in seeded_session.scalars(select(Site).where(Site.id.in_(wanted)))}
    assert teams == {target.id}, page.inner_text("#command-result")
    _shot(page, tmp_path, f"assign-done-{lang}")
    # undone: every site has its team and deadline back, and the undo is in the ledger
    page.click("#assign-undo")
    page.wait_for_function(f"() => document.body.dataset.undone === '{assignment}'")
    seeded_session.rollback()
    after = {
        s.id: (s.team_id, s.deadline) for s in seeded_session.scalars(select(Site).where(Site.id.in_(wanted)))
    }
    assert after == before
    undoes = Event.details["undoes"].as_string()
    undo_events = seeded_session.scalars(select(Event).where(undoes == assignment)).all()
    assert sorted(e.site_id for e in undo_events) == wanted
    assert {e.action for e in undo_events} == {"assign"} and {e.actor for e in undo_events} == {
        "测试commander"
    }
    assert page.inner_text("#command-result")
    _shot(page, tmp_path, f"assign-undone-{lang}")
    assert set(hosts) == {"127.0.0.1"}
    page.close()


@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["desk", "phone"])
@pytest.mark.parametrize(("lang", "query", "word"), LANGS, ids=["zh", "en"])
def test_overdue_shows_at_every_zoom_under_one_legend(
    browser, live_server, seeded_app, tmp_path, viewport, lang, query, word
):
    late = _make_overdue(seeded_app)
    page = browser.new_page(viewport=viewport)
    sign_in(page, live_server, f"/map?z=12{query}")
    _ready(page)
    assert int(page.inner_text("#count-overdue").replace(",", "")) == len(late)
    # zoomed out: clusters carry the number of their overdue sites
    page.wait_for_function("() => document.body.dataset.drawnOverdue !== undefined")
    assert int(page.evaluate("document.body.dataset.drawnOverdue")) == len(late)
    assert page.locator(".leaflet-marker-pane .cluster-ring.late .late-badge").count() > 0
    # one legend: colour is progress for every kind, the layers carry no colour of their own
    assert page.locator(".leaflet-control-layers .swatch").count() == 0
    assert (
        page.locator(".legend .mark-cluster").count() == 1
        and page.locator(".legend .late-badge").count() == 1
    )
    assert page.locator(".leaflet-marker-pane .late-badge").first.inner_text().isdigit()
    name = f"map-overdue-{'desk' if viewport is DESK else 'phone'}-{lang}"
    _shot(page, tmp_path, name, full_page=viewport is PHONE)
    # zoomed in on an overdue site: its own red mark, and its card says so
    page.goto(f"{live_server}/map?overdue=1&site={late[0]}{query}")
    page.wait_for_function(f"() => document.body.dataset.focused === '{late[0]}'")
    page.wait_for_selector(".site-popup dl")
    page.wait_for_function("() => !document.body.dataset.loading && document.body.dataset.drawn !== '0'")
    drawn = int(page.evaluate("document.body.dataset.drawn"))
    assert drawn > 0 and int(page.evaluate("document.body.dataset.drawnOverdue")) == drawn
    assert word in page.inner_text(".site-popup")
    _shot(page, tmp_path, f"map-overdue-site-{'desk' if viewport is DESK else 'phone'}-{lang}")
    page.close()


@pytest.mark.parametrize(("lang", "query", "word"), LANGS, ids=["zh", "en"])
def test_a_popup_names_the_team_and_the_deadline(
    browser, live_server, seeded_app, tmp_path, lang, query, word
):
    deadline = (date.today() + timedelta(days=20)).isoformat()
    with seeded_app.app_context():
        from recovery.command import crews
        from recovery.db import get_session

        team_id, team_name = crews(get_session())[0]
    made = seeded_app.test_client().post(
        "/api/v1/command/assign",
        headers=auth("commander"),
        json={"site_ids": [7], "team_id": team_id, "deadline": deadline},
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    page = browser.new_page(viewport=DESK)
    sign_in(page, live_server, f"/map?site=7{query}")
    page.wait_for_selector(".site-popup dl")
    page.wait_for_function("() => document.body.dataset.focused === '7'")
    popup = page.inner_text(".site-popup")
    assert team_name in popup and deadline in popup and word not in popup  # not overdue: no mark
    _shot(page, tmp_path, f"popup-team-{lang}")
    page.close()


@pytest.mark.parametrize(("lang", "query", "word"), LANGS, ids=["zh", "en"])
def test_the_dashboard_lists_overdue_sites_and_its_figures_open_their_records(
    browser, live_server, seeded_app, tmp_path, lang, query, word
):
    late = _make_overdue(seeded_app)
    page = browser.new_page(viewport=DESK)
    sign_in(page, live_server, f"/?date=2021-08-10{query}")
    items = page.locator("#overdue-sites li")
    assert items.count() > 0 and int(page.inner_text("#overdue-sites-count")) >= items.count()
    days = [
        int("".join(ch for ch in items.nth(i).locator(".days").inner_text() if ch.isdigit()))
        for i in range(items.count())
    ]
    assert days == sorted(days, reverse=True) and days[0] == 9  # most overdue first
    assert {int(items.nth(i).get_attribute("data-site")) for i in range(items.count())} == set(late)
    _shot(page, tmp_path, f"dashboard-overdue-{lang}", full_page=True)
    # a figure opens the records page, not raw JSON
    href = page.get_attribute('[data-key="road_collapse_handled"] a.value', "href")
    assert href.startswith("/reports/daily/2021-08-10/records/road_collapse_handled")
    page.click('[data-key="road_collapse_handled"] a.value')
    page.wait_for_url(f"**{href}")
    page.wait_for_load_state()
    assert page.url.endswith(href) and "html" in page.evaluate("document.contentType")
    assert page.locator("table").count() >= 1
    # an overdue site opens on the map
    page.go_back()
    page.wait_for_selector("#overdue-sites li")
    first = page.locator("#overdue-sites li").first
    site_id = first.get_attribute("data-site")
    first.locator("a").click()
    page.wait_for_url(f"**/map?site={site_id}*")
    page.wait_for_function(f"() => document.body && document.body.dataset.focused === '{site_id}'")
    page.wait_for_selector(".site-popup dl")
    page.close()
