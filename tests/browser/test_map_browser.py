"""The map in a real headless Chromium: nothing from other hosts; layers, filters and the date change what is
drawn and the counts; a hostile site name is shown as text; screenshots for the README."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from support.accounts import auth
from support.browser import SHOTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
XSS = "<img src=x onerror=alert(1)>"


def _counts(page) -> dict:
    page.wait_for_function(
        "() => document.getElementById('count-total').textContent !== '…' && !document.body.dataset.loading"
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


def test_map_layers_filters_and_date_in_chromium(browser, live_server, seeded_app):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    hosts, dialogs = [], []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server, "/map?date=2021-07-29")
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


def test_a_hostile_site_name_is_shown_as_text(browser, live_server, seeded_app, tmp_path):
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
    sign_in(page, live_server, "/map?z=18&lat=34.815&lon=113.535&kind=silt_site")
    _counts(page)
    page.wait_for_function("() => document.body.dataset.drawn !== '0'")
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
    # a commander opens the desk's site page
    assert page.locator(".site-popup a").get_attribute("href").endswith(f"/sites/{site_id}")
    assert set(hosts) == {"127.0.0.1"}
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_map_screenshots(browser, live_server, tmp_path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    sign_in(page, live_server, "/map?date=2021-07-29")
    _counts(page)
    page.wait_for_timeout(300)
    shot = (SHOTS or tmp_path) / f"map-{width}x{height}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=width < 800)
    assert shot.stat().st_size > 10_000
    page.close()


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)], ids=["desktop", "phone"])
def test_draw_a_rectangle_and_assign_the_sites_inside_it(
    browser,
    live_server,
    seeded_session,
    tmp_path,
    width,
    height,
):
    import shapely
    from sqlalchemy import select

    from recovery.models import Event, Site, Team

    page = browser.new_page(viewport={"width": width, "height": height})
    hosts, dialogs = [], []
    page.on("request", lambda request: hosts.append(urlparse(request.url).hostname))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server, "/map?kind=road_collapse&z=13&lat=34.80&lon=113.55")
    _counts(page)
    page.locator(".mapframe").scroll_into_view_if_needed()
    box = page.locator(".mapframe .folium-map").bounding_box()
    start = (box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.3)
    end = (box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.75)
    # where the corners fall on the map, read before drawing (the page scrolls to the form afterwards)
    corners = page.evaluate(
        """([a, b]) => { const cfg = JSON.parse(document.getElementById('map-config').textContent);
             const map = window[cfg.map]; const r = map.getContainer().getBoundingClientRect();
             return [a, b].map(([x, y]) => { const p = map.containerPointToLatLng([x - r.left, y - r.top]);
                                              return [p.lng, p.lat]; }); }""",
        [list(start), list(end)],
    )
    page.click(".draw-rectangle")
    assert page.evaluate("document.body.dataset.drawMode") == "rectangle"
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()
    page.wait_for_function("() => document.body.dataset.selected !== undefined")
    rect = shapely.box(
        min(corners[0][0], corners[1][0]),
        min(corners[0][1], corners[1][1]),
        max(corners[0][0], corners[1][0]),
        max(corners[0][1], corners[1][1]),
    )
    centres = seeded_session.execute(
        select(Site.id, (Site.minx + Site.maxx) / 2, (Site.miny + Site.maxy) / 2).where(
            Site.kind == "road_collapse"
        )
    ).all()
    # the drawn polygon's corners are rounded to 7 decimals: no site may sit so near an edge that rounding
    # could move it across
    edge = rect.boundary
    assert not any(edge.distance(shapely.Point(x, y)) < 1e-6 for _, x, y in centres)
    inside = sorted(i for i, x, y in centres if rect.contains(shapely.Point(x, y)))
    assert inside, "the rectangle should hold some road collapse points"
    assert int(page.evaluate("document.body.dataset.selected")) == len(inside)
    assert page.inner_text("#selection-count").replace(",", "") == str(len(inside))
    shot = (SHOTS or tmp_path) / f"map-select-{width}x{height}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=width < 800)
    # assign them: one event per site, with who did it
    crew = seeded_session.scalars(select(Team).where(Team.type == "crew").order_by(Team.id)).first()
    last_event = seeded_session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))
    page.select_option("#assign-team", str(crew.id))
    page.fill("#assign-deadline", "2021-08-15")
    page.click("#assign-drawn")
    # a preview first: how many, and the past deadline must be confirmed before the assignment is made
    page.wait_for_selector("#assign-dialog[open]")
    assert str(len(inside)) in page.inner_text("#assign-preview")
    assert page.is_visible("#assign-past") and page.is_disabled("#assign-confirm")
    page.check("#assign-past-ok")
    page.click("#assign-confirm")
    page.wait_for_function("() => document.getElementById('command-result').textContent !== ''")
    assert str(len(inside)) in page.inner_text("#command-result")
    seeded_session.rollback()
    events = seeded_session.scalars(select(Event).where(Event.id > last_event)).all()
    assert sorted(e.site_id for e in events) == inside
    assert {e.action for e in events} == {"assign"} and {e.actor for e in events} == {"测试commander"}
    assert all(e.details["team_id"] == crew.id for e in events)
    # a polygon: a click per corner, then a click on the first corner closes it
    if width > 800:
        page.locator(".mapframe").scroll_into_view_if_needed()
        box = page.locator(".mapframe .folium-map").bounding_box()
        clicks = [
            (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            for fx, fy in ((0.3, 0.3), (0.75, 0.35), (0.5, 0.8))
        ]
        triangle = shapely.Polygon(
            page.evaluate(
                """(points) => { const cfg = JSON.parse(document.getElementById('map-config').textContent);
                     const map = window[cfg.map]; const r = map.getContainer().getBoundingClientRect();
                     return points.map(([x, y]) => { const p = map.containerPointToLatLng([x - r.left, y - r.top]);
                                                     return [p.lng, p.lat]; }); }""",
                [list(c) for c in clicks],
            )
        )
        page.click(".draw-polygon")
        for x, y in [*clicks, clicks[0]]:
            page.mouse.click(x, y)
            page.wait_for_timeout(350)  # separate clicks, not a double-click
        page.wait_for_function("() => document.body.dataset.selected !== undefined")
        assert page.evaluate("document.body.dataset.drawMode") == ""
        assert not any(triangle.boundary.distance(shapely.Point(x, y)) < 1e-6 for _, x, y in centres)
        expected = [i for i, x, y in centres if triangle.contains(shapely.Point(x, y))]
        assert 0 < int(page.evaluate("document.body.dataset.selected")) == len(expected)
    assert set(hosts) == {"127.0.0.1"} and dialogs == []
    page.close()
