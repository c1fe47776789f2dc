"""The field worker's journeys on a phone (390×844), in headless Chromium (issue 17): my work sites before the
check-ins, a check-in with a confirmation, an undo window and its distance on record, a report that is
confirmed in view with a link to the new site (which has a team, a deadline and a priority), the site page's
deadline, team, map and navigation links, a save that the tab bar does not hide, photos that say what they are,
a relapse that a commander decides, and a way back to the field app from the map.

Screenshots of each journey, in Chinese and English, go to RECOVERY_SCREENSHOTS (docs/screenshots) when it is set.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.accounts import auth
from support.browser import SHOTS, sign_in

from recovery.db.engine import make_engine
from recovery.ledger.bulk import verify
from recovery.models import Event, Site, Team

PHONE = {"width": 390, "height": 844}
#: standing in 石佛 (shifo), the scope of the test user field_shifo
SHIFO = {"longitude": 113.5650, "latitude": 34.8180, "accuracy": 15}
#: standing in 枫杨 (fengyang), the scope of the test user field
FENGYANG = {"longitude": 113.5873, "latitude": 34.8400, "accuracy": 12}
WAIT_MS = 30_000
LANGS = {"zh": "zh_CN", "en": "en"}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def db(seeded_app):
    engine = make_engine(seeded_app.config["RECOVERY"]["DATABASE_URL"])
    with Session(engine) as session:
        yield session
    engine.dispose()


def phone(browser, where: dict):
    return browser.new_context(
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        geolocation=where,
        permissions=["geolocation"],
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )


def shoot(page, tmp_path: Path, name: str, lang: str) -> None:
    shot = (SHOTS or tmp_path) / f"field-{name}-{lang}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot))  # the viewport, as the worker sees it
    assert shot.stat().st_size > 5_000
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways"


def open_app(page, base: str, user: str, lang: str) -> None:
    sign_in(page, base, "/field/", user=user)
    page.goto(f"{base}/field/?lang={LANGS[lang]}")
    page.wait_for_selector("body[data-ready='1']")


def report(client, who: str, kind: str, name: str, where: dict, **extra) -> dict:
    body = {
        "kind": kind,
        "name": name,
        "position": {"lon": where["longitude"], "lat": where["latitude"], "crs": "wgs84"},
        **extra,
    }
    response = client.post(
        "/api/v1/sites", json=body, headers={**auth(who), "Idempotency-Key": uuid.uuid4().hex}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["site"]


def in_view(page, selector: str) -> bool:
    """Whether the element is inside the viewport and not under the sticky bars or the bottom tabs."""
    return page.evaluate(
        """(sel) => {
          const el = document.querySelector(sel);
          if (!el) return false;
          const r = el.getBoundingClientRect();
          const top = document.getElementById('status').getBoundingClientRect().bottom;
          const bottom = document.querySelector('.tabs').getBoundingClientRect().top;
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return r.top >= top - 1 && r.bottom <= bottom + 1 && (el.contains(hit) || hit.contains(el));
        }""",
        selector,
    )


def events_of(db, site_id: int) -> list[Event]:
    db.rollback()
    return list(db.scalars(select(Event).where(Event.site_id == site_id).order_by(Event.id)))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_my_work_sites_come_first_and_a_check_in_is_confirmed_undoable_and_proven(
    browser, live_server, seeded_app, db, tmp_path, lang
):
    client = seeded_app.test_client()
    work = report(
        client, "field_shifo", "silt_site", f"石佛积泥点 {lang}", SHIFO, attributes={"place_type": "street"}
    )
    context = phone(browser, SHIFO)
    page = context.new_page()
    open_app(page, live_server, "field_shifo", lang)
    page.wait_for_selector("#sites li.site")
    page.wait_for_selector("#points li.point")

    # the first card of the page is a work site, above every check-in; check-ins are one compact line each
    first = page.evaluate("document.querySelector('#view li').dataset.siteId")
    assert first == str(work["properties"]["id"])
    assert page.evaluate(
        "document.querySelector('#sites').compareDocumentPosition(document.querySelector('#points')) & 4"
    )
    heights = page.eval_on_selector_all(
        "#points li.point", "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert len(heights) >= 5 and max(heights) < 70, heights
    assert in_view(page, "#sites li.site a")
    shoot(page, tmp_path, "1-my-sites", lang)

    # a check-in asks first, with how far I am from the point and an optional photo
    row = page.locator("#points li.point").first
    point_id = int(row.get_attribute("data-site-id"))
    row.locator("button.checkin").click()
    distance = row.locator("[data-role=distance]")
    page.wait_for_function(
        "(el) => /\\d/.test(el.textContent)", arg=distance.element_handle(), timeout=WAIT_MS
    )
    assert re.search(r"(距点位约|About) \d+", distance.text_content())
    assert row.locator("input[type=file]").count() == 1
    shoot(page, tmp_path, "2-check-in-confirm", lang)

    # confirmed, it waits a few seconds with an undo: undone, nothing is queued or sent
    row.locator("[data-action=confirm-check-in]").click()
    page.wait_for_selector("#undo-check-in")
    assert in_view(page, "#undo-check-in")
    shoot(page, tmp_path, "3-check-in-undo", lang)
    page.click("#undo-check-in")
    page.wait_for_selector("#notice >> text=/撤销|undone/")
    page.wait_for_timeout(6_000)  # past the undo window: still nothing
    assert page.evaluate("indexedDB.databases().then(() => 1)") == 1
    assert [
        e for e in events_of(db, point_id) if e.action == "check_in" and e.recorded_at > ago(minutes=5)
    ] == []

    # confirmed and left alone, it is sent with the distance from the point on record; the row moves away
    row.locator("button.checkin").click()
    row.locator("[data-action=confirm-check-in]").click()
    page.wait_for_selector("#queue [data-count=pending], #queue [data-count=none]")
    page.wait_for_function(
        "(id) => document.querySelector(`#points-done li[data-site-id='${id}']`)",
        arg=point_id,
        timeout=WAIT_MS,
    )
    page.wait_for_selector("#queue [data-count=none]", timeout=WAIT_MS)
    recent = [e for e in events_of(db, point_id) if e.action == "check_in" and e.recorded_at > ago(minutes=5)]
    assert len(recent) == 1
    assert isinstance(recent[0].details["distance_m"], float) and recent[0].details["distance_m"] < 20_000
    assert recent[0].details["position"]["crs"] == "wgs84"
    assert page.locator(f"#points li[data-site-id='{point_id}']").count() == 0
    # the point's history shows the check-in with its distance from the point
    page.goto(f"{live_server}/field/?lang={LANGS[lang]}#/site/{point_id}")
    entry = page.locator(f"#history li[data-event-id='{recent[0].id}'] .distance")
    entry.wait_for(timeout=WAIT_MS)
    assert re.search(r"(签到位置距点位|Checked in) \d", entry.text_content())
    context.close()


def ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_report_is_confirmed_in_view_and_the_new_site_has_a_team_a_deadline_and_a_way_there(
    browser, live_server, db, tmp_path, lang
):
    context = phone(browser, SHIFO)
    page = context.new_page()
    open_app(page, live_server, "field_shifo", lang)
    page.goto(f"{live_server}/field/?lang={LANGS[lang]}#/new")
    page.wait_for_selector("#report-form")
    page.select_option("#kind", "road_collapse")
    assert page.locator("#priority-rule").is_visible()  # a road's priority is its class's
    page.select_option("#kind", "silt_site")
    assert page.locator("#priority").is_visible()
    page.select_option("#kind", "road_collapse")
    name = f"石佛路塌陷 {lang} {uuid.uuid4().hex[:6]}"
    page.fill("#name", name)
    page.select_option("#attr-road_class", "secondary")
    team_key = page.eval_on_selector("#team", "s => s.options[1].value")
    page.select_option("#team", team_key)
    page.check("input[name=where][value=here]")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.click("#submit-report")
    page.wait_for_selector("#new-site-link", timeout=WAIT_MS)
    assert in_view(page, "#new-site-link")  # not scrolled away: pinned under the status bar
    shoot(page, tmp_path, "4-report-done", lang)

    db.rollback()
    site = db.scalars(select(Site).where(Site.name == name)).one()
    team = db.scalars(select(Team).where(Team.key == team_key)).one()
    assert (site.team_id, site.priority, site.subdistrict) == (team.id, 2, "shifo")
    assert site.deadline is not None and site.deadline > datetime.now(UTC) + timedelta(days=6)

    page.click("#new-site-link")
    page.wait_for_selector("#site-head")
    assert page.text_content("#site-team") == team.name
    assert re.search(r"\d{4}-\d{2}-\d{2}", page.text_content("#site-deadline"))
    page.wait_for_function("() => document.querySelectorAll('#site-map path').length >= 1", timeout=WAIT_MS)
    page.wait_for_selector("#nav-amap:not([hidden])")
    geo = page.get_attribute("#nav-geo", "href")
    amap = page.get_attribute("#nav-amap", "href")
    baidu = page.get_attribute("#nav-baidu", "href")
    lon, lat = site.geom.x, site.geom.y
    assert geo.startswith(f"geo:{lat:.6f},{lon:.6f}")
    gcj = [float(x) for x in page.get_attribute("#nav-amap", "data-coords").split(",")]
    bd = [float(x) for x in page.get_attribute("#nav-baidu", "data-coords").split(",")]
    # GCJ-02 is a few hundred metres off WGS-84 here, and BD-09 further still
    assert 0.001 < abs(gcj[0] - lon) < 0.01 and 0.0005 < abs(gcj[1] - lat) < 0.01
    assert abs(bd[0] - gcj[0]) > 0.004
    assert amap.startswith("amapuri://route/plan/?") and f"dlat={gcj[1]:.6f}" in amap and "dev=0" in amap
    assert baidu.startswith("baidumap://map/direction?") and "coord_type=bd09ll" in baidu
    assert f"{bd[1]:.6f}" in baidu
    shoot(page, tmp_path, "5-site", lang)
    context.close()


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 120, 150)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_saving_a_change_is_never_hidden_and_its_photo_says_what_it_is(
    browser, live_server, seeded_app, db, tmp_path, lang
):
    site = report(
        seeded_app.test_client(),
        "field",
        "silt_site",
        f"枫杨积泥点 {lang}",
        FENGYANG,
        attributes={"place_type": "street"},
    )
    site_id = site["properties"]["id"]
    context = phone(browser, FENGYANG)
    page = context.new_page()
    open_app(page, live_server, "field", lang)
    page.goto(f"{live_server}/field/?lang={LANGS[lang]}#/site/{site_id}")
    page.wait_for_selector("#update-form")

    # an empty save: the browser points at the status, which lands below the sticky bars, not under them
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert in_view(page, "#save")  # the bottom tabs do not cover the save button
    page.click("#save")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'new-status'")
    page.wait_for_timeout(300)
    assert in_view(page, "#new-status")

    page.select_option("#new-status", index=1)
    page.fill("#note", "清淤开始")
    page.set_input_files(
        "#photos", files=[{"name": "现场.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.click("#save")
    page.wait_for_selector("#notice:not([hidden])")
    assert in_view(page, "#notice .notice-text")
    assert site["properties"]["name"] in page.text_content("#notice")
    page.wait_for_selector("#queue [data-count=none]", timeout=WAIT_MS)

    # the photo: its time (with the year), who sent it, the change it belongs to, and alt text
    page.reload()
    page.wait_for_selector("#site-photos figure figcaption", timeout=WAIT_MS)
    caption = page.text_content("#site-photos figcaption")
    year = str(datetime.now(UTC).year)
    assert year in caption and "测试field" in caption and "→" in caption
    alt = page.get_attribute("#site-photos img", "alt")
    assert site["properties"]["name"] in alt and "→" in alt
    assert all(
        year in w for w in page.eval_on_selector_all("#history .when", "els => els.map(e => e.textContent)")
    )
    page.locator("#site-photos").scroll_into_view_if_needed()
    shoot(page, tmp_path, "6-photos", lang)
    context.close()


def test_the_outbox_badge_sits_beside_its_label(browser, live_server, tmp_path):
    context = phone(browser, FENGYANG)
    page = context.new_page()
    open_app(page, live_server, "field", "zh")
    page.evaluate("document.querySelector('.tabs a[data-tab=outbox]').dataset.badge = '12'")
    label_right, link_right, after = page.evaluate(
        """() => {
          const a = document.querySelector('.tabs a[data-tab=outbox]');
          const range = document.createRange();
          range.selectNodeContents(a);
          const style = getComputedStyle(a, '::after');
          return [range.getClientRects()[0].right, a.getBoundingClientRect().right, style.position];
        }"""
    )
    # the count flows after the label (not placed over it) and both fit in the tab
    assert after != "absolute"
    assert label_right + 22 <= link_right
    context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_finished_site_that_failed_again_goes_to_the_commander(
    browser, live_server, seeded_app, db, tmp_path, lang
):
    client = seeded_app.test_client()
    site = report(
        client,
        "field",
        "road_collapse",
        f"枫杨复发点 {lang}",
        FENGYANG,
        attributes={"road_class": "branch"},
        valid_at=ago(hours=2).isoformat(),
    )
    site_id = site["properties"]["id"]
    done = client.post(
        f"/api/v1/sites/{site_id}/events",
        json={"status": "restored", "valid_at": ago(minutes=30).isoformat()},
        headers={**auth("field"), "If-Match": '"1"'},
    )
    assert done.status_code == 201, done.get_json()
    context = phone(browser, FENGYANG)
    page = context.new_page()
    open_app(page, live_server, "field", lang)
    page.goto(f"{live_server}/field/?lang={LANGS[lang]}#/site/{site_id}")
    page.wait_for_selector("#relapse-form")
    page.fill("#relapse-note", "路面再次下沉约 10 厘米")
    page.locator("#relapse-form").scroll_into_view_if_needed()
    shoot(page, tmp_path, "7-relapse", lang)
    page.click("#submit-relapse")
    page.wait_for_function(
        """() => import('/static/field/outbox.js').then(m => m.items())
              .then(rows => rows.some(r => r.kind === 'relapse' && r.state === 'flagged'))""",
        timeout=WAIT_MS,
    )
    held = []
    for _ in range(50):  # the page knows before this connection does: wait for the write to be visible
        held = [e for e in events_of(db, site_id) if e.flag]
        if held:
            break
        page.wait_for_timeout(200)
    assert [(e.action, e.flag, e.note) for e in held] == [("reopen", "relapse", "路面再次下沉约 10 厘米")]
    db.rollback()
    assert db.get(Site, site_id).status == "restored"  # not applied until a commander decides
    context.close()

    desk = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server, "/", user="commander")
    card = page.locator(f"#conflict-list [data-event='{held[0].id}']")
    card.wait_for(timeout=WAIT_MS)
    assert "路面再次下沉" in card.text_content()
    assert "复发报告" in card.locator(".held").text_content()  # a relapse reads as one, not as a held change
    card.locator("button[data-decision=apply]").click()
    card.locator(".confirm-yes").click()  # applying it reopens the site: the card asks first
    page.wait_for_function(
        "(id) => !document.querySelector(`#conflict-list [data-event='${id}']`)",
        arg=held[0].id,
        timeout=WAIT_MS,
    )
    db.rollback()
    db.expire_all()
    assert db.get(Site, site_id).status == "reported"
    assert verify(db) == []
    desk.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_field_user_on_the_map_has_a_way_back_and_the_layers_fold_away(
    browser, live_server, tmp_path, lang
):
    context = phone(browser, FENGYANG)
    page = context.new_page()
    sign_in(page, live_server, "/field/", user="field")
    page.goto(f"{live_server}/map?lang={LANGS[lang]}")
    page.wait_for_selector(".leaflet-control-layers", timeout=WAIT_MS)
    back = page.locator("header a[href='/field/']")
    assert back.count() == 1 and back.is_visible()
    # the layer panel is folded to its button on a phone; a tap opens it
    assert not page.locator(".leaflet-control-layers-list").is_visible()
    box = page.locator(".leaflet-control-layers").bounding_box()
    frame = page.locator(".mapframe").bounding_box()
    assert box["width"] * box["height"] < 0.1 * frame["width"] * frame["height"]
    page.locator(".mapframe").scroll_into_view_if_needed()
    shoot(page, tmp_path, "8-map", lang)
    page.locator(".leaflet-control-layers-toggle").focus()
    assert page.locator(".leaflet-control-layers-list").is_visible()
    back.click()
    page.wait_for_selector("body[data-ready='1']")
    context.close()
