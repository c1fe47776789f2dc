"""The security headers in a real Chromium (issue 12, finding 13): no page of the app breaks the
Content-Security-Policy, the map's inline code included. On SQLite and PostGIS."""

from __future__ import annotations

import pytest
from support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
DAY = "2021-07-29"

#: records every policy violation from the first byte of each page on
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));
"""
PAGES = [
    "/?date=2021-07-29",
    "/map?date=2021-07-29",
    "/field/",
    "/reports/",
    f"/reports/daily/{DAY}",
    f"/reports/daily/{DAY}/records/road_collapse_handled",
    "/ogc/collections?f=html",
    "/api/v1/docs",
    "/admin/import",
    "/account/password",
]


def test_no_page_breaks_the_policy_in_chromium(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, live_server, "/login", user="admin")
    for path in PAGES:
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        assert response.headers["x-frame-options"] == "DENY"
        page.wait_for_load_state("networkidle")
        if path.startswith("/map"):
            # Folium's inline script ran (the map and its layers exist) and map.js drew the sites
            page.wait_for_function("() => document.body.dataset.drawn && document.body.dataset.drawn !== '0'")
            folium_map = "JSON.parse(document.getElementById('map-config').textContent).map"
            assert page.evaluate(f"() => window[{folium_map}] instanceof L.Map")
        assert page.evaluate("window.__csp") == [], path
    assert console == []
    context.close()
