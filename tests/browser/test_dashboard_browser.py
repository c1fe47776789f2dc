"""The dashboard in headless Chromium: its figures are the registry's for the day; nothing from other hosts."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from support.browser import SHOTS, sign_in

from recovery.metrics import cube_at, evaluate_all
from recovery.timeutil import end_of_day, parse_day

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_dashboard_figures_are_the_registry_s(browser, live_server, seeded_app, tmp_path, width, height):
    from recovery.db import get_session
    from recovery.web.pages import HEADLINE_KEYS

    day = "2021-07-27"
    with seeded_app.test_request_context():
        figures = evaluate_all(cube_at(get_session(), end_of_day(parse_day(day))))
    page = browser.new_page(viewport={"width": width, "height": height})
    hosts = []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    sign_in(page, live_server, f"/?date={day}")
    for key in HEADLINE_KEYS:
        assert page.inner_text(f'[data-key="{key}"] .value') == figures[key].printed, key
    assert int(page.inner_text("#burn-left")) == figures["road_collapse_remaining"].value
    assert page.locator("#ranking tbody tr").count() == 5
    assert page.locator("svg.chart").count() == 2
    page.wait_for_selector("#conflict-list p, #conflict-list .conflict")
    assert set(hosts) == {"127.0.0.1"}
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot = (SHOTS or tmp_path) / f"dashboard-{width}x{height}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_a_flagged_change_says_who_when_and_what_applying_does(browser, live_server, seeded_app, tmp_path):
    """The card of a flagged change names the site's state now, the held change, who made it, when it happened
    and when it arrived; applying places it at its time and the site stays as the later changes left it."""
    from support.accounts import auth
    from support.sites import new_site, post_event

    client = seeded_app.test_client()
    point = {"lon": 113.5918, "lat": 34.8135, "crs": "wgs84"}
    site_id = new_site(client, position=point, valid_at="2021-07-21T08:00:00+08:00")["properties"]["id"]
    for version, (status, at) in enumerate((("passable", "09:00"), ("restored", "12:00")), start=1):
        response = post_event(
            client,
            site_id,
            {"status": status, "valid_at": f"2021-07-21T{at}:00+08:00"},
            who="commander",
            version=version,
        )
        assert response.status_code == 201
    late = post_event(
        client,
        site_id,
        {"status": "repairing", "note": "离线：10点在修", "valid_at": "2021-07-21T10:00:00+08:00"},
        version=3,
    )
    assert late.status_code == 202

    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, live_server, "/")
    card = page.locator(f'#conflict-list .conflict[data-event="{late.get_json()["event"]["id"]}"]')
    card.wait_for()
    text = card.inner_text()
    assert "点位现状: 已修复" in text
    assert "待决定的变更: 抢修中" in text and "测试field" in text
    assert "发生 2021-07-21 10:00" in text and "送达于" in text and "离线：10点在修" in text
    assert "按变更实际发生的时间记入台账" in card.locator("button[data-decision=apply]").get_attribute(
        "title"
    )
    shot = (SHOTS or tmp_path) / "dashboard-conflict-390x844.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(shot))
    # 采纳 asks first, saying what it will do; until confirmed nothing is decided
    card.locator("button[data-decision=apply]").click()
    ask = card.locator(".confirm")
    ask.wait_for()
    assert "抢修中" in ask.inner_text() and "已修复" in ask.inner_text() and "记入台账" in ask.inner_text()
    ask.locator(".confirm-no").click()
    ask.wait_for(state="detached")
    assert client.get("/api/v1/conflicts", headers=auth("commander")).get_json()["conflicts"]
    card.locator("button[data-decision=apply]").click()
    card.locator(".confirm-yes").click()
    card.wait_for(state="detached")
    site = client.get(f"/api/v1/sites/{site_id}", headers=auth("commander")).get_json()["properties"]
    assert site["status"] == "restored"
    assert [h["to_status"] for h in site["history"]][-2:] == ["repairing", "restored"]
    page.close()
