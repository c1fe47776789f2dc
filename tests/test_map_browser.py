"""The map in a real headless Chromium: nothing from other hosts; layers, filters and the date change what is
drawn and the counts; a hostile site name is shown as text; screenshots for the README."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from conftest import TEST_PASSWORD, auth
from test_browser import SHOTS, browser, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
XSS = "<img src=x onerror=alert(1)>"


def _sign_in(page, base: str, path: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("#username", "commander")
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/map.*"))


def _counts(page) -> dict:
    page.wait_for_function(
        "document.getElementById('count-total').textContent !== '…' && !document.body.dataset.loading"
    )
    return {
        "total": int(page.inner_text("#count-total").replace(",", "")),
        "road_total": int(page.inner_text('tr[data-kind="road_collapse"] .total')),
        "road_done": int(page.inner_text('tr[data-kind="road_collapse"] .done')),
        "drawn": int(page.evaluate("document.body.dataset.drawn")),
        "version": page.evaluate("document.body.dataset.version"),
    }


def _changed(page, before: dict, key: str) -> dict:
    page.wait_for_function(
        f"""() => !document.body.dataset.loading &&
             {{'total': '#count-total', 'road_total': 'tr[data-kind="road_collapse"] .total',
               'road_done': 'tr[data-kind="road_collapse"] .done'}}['{key}'] &&
             document.querySelector({{'total': '#count-total', 'road_total': 'tr[data-kind="road_collapse"] .total',
               'road_done': 'tr[data-kind="road_collapse"] .done'}}['{key}']).textContent.replace(/,/g, '')
             !== '{before[key]}'""",
        timeout=15000,
    )
    return _counts(page)


def test_map_layers_filters_and_date_in_chromium(browser, live_server, seeded_app):  # noqa: F811
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    hosts, dialogs = [], []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    _sign_in(page, live_server, "/map?date=2021-07-29")
    start = _counts(page)
    assert start["road_total"] == 236 and start["road_done"] == 167
    assert start["drawn"] > 0
    # toggling a layer in Folium's layer control: the road collapses go, and the counts follow
    page.locator(".leaflet-control-layers-overlays label", has_text="道路塌陷点").locator("input").uncheck()
    hidden = _changed(page, start, "total")
    assert hidden["road_total"] == 0 and hidden["total"] == start["total"] - 236
    assert "kind=" in page.url
    page.locator(".leaflet-control-layers-overlays label", has_text="道路塌陷点").locator("input").check()
    shown = _changed(page, hidden, "total")
    assert shown["total"] == start["total"]
    # a filter, kept in the URL
    page.select_option("#subdistrict", "shifo")
    shifo = _changed(page, shown, "total")
    assert shifo["total"] < start["total"] and "subdistrict=shifo" in page.url
    page.select_option("#subdistrict", "")
    again = _changed(page, shifo, "total")
    # the date control redraws the map as of an earlier day
    page.fill("#date", "2021-07-22")
    page.dispatch_event("#date", "change")
    early = _changed(page, again, "road_done")
    assert early["road_done"] < 167 and "date=2021-07-22" in page.url
    assert set(hosts) == {"127.0.0.1"}, set(hosts)
    assert dialogs == []
    page.close()


def test_a_hostile_site_name_is_shown_as_text(browser, live_server, seeded_app, tmp_path):  # noqa: F811
    client = seeded_app.test_client()
    created = client.post(
        "/api/v1/sites",
        headers=auth("commander"),
        json={
            "kind": "silt_site",
            "name": XSS,
            "geometry": {"type": "Point", "coordinates": [113.535, 34.815]},
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    site_id = created.get_json()["site"]["id"]
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    dialogs, hosts = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    _sign_in(page, live_server, "/map?z=18&lat=34.815&lon=113.535&kind=silt_site")
    _counts(page)
    page.wait_for_function("document.body.dataset.drawn !== '0'")
    point = page.evaluate(
        """() => { const cfg = JSON.parse(document.getElementById('map-config').textContent);
                   const map = window[cfg.map]; const p = map.latLngToContainerPoint([34.815, 113.535]);
                   const r = map.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }"""
    )
    page.mouse.click(point[0], point[1])
    page.wait_for_selector(".site-popup h3")
    assert page.inner_text(".site-popup h3") == XSS
    assert page.locator(".site-popup img[src='x']").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator(".site-popup a").get_attribute("href").endswith(f"#/site/{site_id}")
    assert set(hosts) == {"127.0.0.1"}
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_map_screenshots(browser, live_server, tmp_path, width, height):  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": height})
    _sign_in(page, live_server, "/map?date=2021-07-29")
    _counts(page)
    page.wait_for_timeout(300)
    shot = (SHOTS or tmp_path) / f"map-{width}x{height}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=width < 800)
    assert shot.stat().st_size > 10_000
    page.close()
