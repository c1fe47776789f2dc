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
