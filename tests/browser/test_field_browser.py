"""The field app in headless Chromium at phone size: online and offline updates stored exactly once, conflicts shown.

This is issue 3's acceptance test: sign in as a field user, update a site once online, go offline, make two more
updates (one with a measure and a photo), see them pending and surviving a reload, come back online, and find
exactly those three events in the database, each once, with a clean ledger. The service worker is in control
(as on a phone after the first visit), and offline emulation cuts its fetches too, so the reload offline is
answered by it alone.
"""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.accounts import TEST_PASSWORD, auth
from support.browser import SHOTS, sign_in

from recovery.db.engine import make_engine
from recovery.ledger.bulk import verify
from recovery.models import Event
from recovery.models_accounts import Photo

PHONE = {"width": 390, "height": 844}
#: standing in 枫杨 (fengyang), the test field user's scope
HERE = {"longitude": 113.5873, "latitude": 34.8400, "accuracy": 12}
WAIT_MS = 30_000

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def db(seeded_app):
    engine = make_engine(seeded_app.config["RECOVERY"]["DATABASE_URL"])
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        geolocation=HERE,
        permissions=["geolocation"],
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    yield context
    context.close()


def shoot(page, tmp_path: Path, name: str) -> None:
    shot = (SHOTS or tmp_path) / f"field-{name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate(
        "window.scrollTo(0, 0)"
    )  # a full-page shot of a scrolled page draws the sticky bar mid-page
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways"


def new_silt_site(client, name: str) -> int:
    """A fresh open silt site in fengyang, reported by the field user through the API (the seed is all done)."""
    response = client.post(
        "/api/v1/sites",
        json={
            "kind": "silt_site",
            "name": name,
            "address": "枫杨街道测试路 1 号",
            "position": {"lon": 113.5901, "lat": 34.8412, "crs": "wgs84"},
            "note": "测试点位",
            "valid_at": ago(minutes=10),
        },
        headers={**auth("field"), "Idempotency-Key": f"setup-{uuid.uuid4()}"},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["site"]["id"]


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def open_field_app(page, base: str) -> None:
    """Sign in as the field user and wait until the field app's service worker controls the page."""
    sign_in(page, base, "/field/", user="field")
    page.wait_for_selector("body[data-ready='1']")
    # once the service worker controls the page, every read goes through it (and into its cache)
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def open_site(page, base: str, site_id: int) -> None:
    page.goto(f"{base}/field/#/site/{site_id}")
    page.wait_for_selector("#update-form, #site-head", timeout=WAIT_MS)


def update(
    page, status_label: str, note: str, measures: dict | None = None, photo: bytes | None = None
) -> None:
    page.wait_for_selector("#update-form")
    page.select_option("#new-status", label=status_label)
    for key, value in (measures or {}).items():
        page.fill(f"[data-measure={key}]", str(value))
    page.fill("#note", note)
    if photo:
        page.set_input_files(
            "#photos", files=[{"name": "现场.png", "mimeType": "image/png", "buffer": photo}]
        )
    page.click("#save")
    page.wait_for_selector(f"#history .event.pending .note >> text={note}", timeout=WAIT_MS)


def offline_change(
    phone, live_server, seeded_app, site_name: str, status_label: str, note: str, measures=None
):
    """A fresh silt site, the field app open on it, the phone offline and one change made there (queued):
    the page and the site's id."""
    site_id = new_silt_site(seeded_app.test_client(), site_name)
    page = phone.new_page()
    open_field_app(page, live_server)
    open_site(page, live_server, site_id)
    phone.set_offline(True)
    page.wait_for_selector("#net.off")
    update(page, status_label, note, measures)
    return page, site_id


def queue_counts(page) -> dict:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#queue [data-count]')]
                 .map(el => [el.dataset.count, el.textContent]))"""
    )


def wait_all_sent(page) -> None:
    page.wait_for_selector("#queue [data-count=none]", timeout=WAIT_MS)


def noise_png(size: int = 420) -> bytes:
    """A PNG of random pixels: over 256 KB, so that it travels in more than one chunk."""
    from PIL import Image

    rng = random.Random(720)
    image = Image.frombytes("RGB", (size, size), bytes(rng.getrandbits(8) for _ in range(size * size * 3)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    assert out.tell() > 256 * 1024
    return out.getvalue()


def events_of(db: Session, site_id: int) -> list[Event]:
    db.rollback()  # a fresh snapshot: the server wrote since the last look
    return list(db.scalars(select(Event).where(Event.site_id == site_id).order_by(Event.id)))


def test_updates_made_offline_are_stored_exactly_once(phone, live_server, seeded_app, db, tmp_path):
    client = seeded_app.test_client()
    site_id = new_silt_site(client, "浏览器测试清淤点")
    page = phone.new_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(urlparse(request.url).hostname))
    open_field_app(page, live_server)
    page.wait_for_selector(f"#sites li[data-site-id='{site_id}']", timeout=WAIT_MS)
    row = page.inner_text(f"#sites li[data-site-id='{site_id}']")
    assert "浏览器测试清淤点" in row and "清淤点" in row and "已上报" in row and "枫杨办事处" in row
    shoot(page, tmp_path, "1-my-sites")

    # 1: online
    page.click(f"#sites li[data-site-id='{site_id}'] a")
    page.wait_for_selector("#update-form")
    options = page.eval_on_selector_all("#new-status option", "els => els.map(e => e.textContent)")
    assert options == ["—", "清理中", "已清淤", "已消杀"]  # only the transitions a silt site allows
    assert page.is_visible("[data-measure=silt_m3]") and page.is_visible("[data-measure=garbage_t]")
    page.wait_for_selector("#position-text >> text=已定位")
    shoot(page, tmp_path, "2-site")
    # online, a change is sent at once: hold its request on the wire so the pending state can be seen
    held = []
    page.route("**/api/v1/sites/*/events", lambda route: held.append(route))
    update(page, "清理中", "第一次：开始清理")
    page.wait_for_selector("#queue [data-count=pending] >> text=1 条待发送")
    assert [e.action for e in events_of(db, site_id)] == ["report"]
    for _ in range(WAIT_MS // 50):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the change was not sent"
    held.pop().continue_()
    page.unroute("**/api/v1/sites/*/events")
    wait_all_sent(page)
    page.wait_for_selector("#site-status >> text=清理中", timeout=WAIT_MS)
    page.wait_for_selector("#history .event[data-event-id] .note >> text=第一次：开始清理")
    assert page.locator("#history .event.pending").count() == 0
    assert [e.note for e in events_of(db, site_id) if e.action == "transition"] == ["第一次：开始清理"]

    # 2 and 3: offline, one after the other on the same site
    phone.set_offline(True)
    page.wait_for_selector("#net.off")
    update(page, "已清淤", "第二次：淤泥清完", {"silt_m3": 12.5, "garbage_t": 3}, photo=noise_png())
    # the next choice starts from what the pending change will make of the site
    options = page.eval_on_selector_all("#new-status option", "els => els.map(e => e.textContent)")
    assert options == ["—", "已消杀"]
    update(page, "已消杀", "第三次：消杀完成 <b>不是HTML</b>")
    page.wait_for_selector("#queue [data-count=pending] >> text=2 条待发送")
    assert page.inner_text("#expected-status").startswith("→ 已消杀")
    second_row = page.inner_text("#history .event.pending >> nth=1")  # newest first
    assert "清运淤泥 12.5 m³" in second_row and "已选 1 张照片" in second_row
    shoot(page, tmp_path, "3-offline-pending")

    # closing and reopening the app with no network loses nothing
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=WAIT_MS)
    page.wait_for_selector("#history .event.pending", timeout=WAIT_MS)
    assert page.inner_text("#queue [data-count=pending]") == "2 条待发送"
    # user text is text: the angle brackets show, no element is made
    assert page.locator("#history b").count() == 0
    assert "<b>不是HTML</b>" in page.inner_text("#history")
    page.goto(f"{live_server}/field/#/outbox")
    page.wait_for_selector("#outbox .item[data-state=queued]")
    assert page.locator("#outbox .item[data-state=queued]").count() == 2
    shoot(page, tmp_path, "4-outbox-offline")
    assert len([e for e in events_of(db, site_id) if e.action == "transition"]) == 1

    # back online: the outbox drains by itself, in order, each once
    phone.set_offline(False)
    wait_all_sent(page)
    page.wait_for_selector("#outbox .item[data-state=sent] >> nth=2", timeout=WAIT_MS)
    shoot(page, tmp_path, "5-outbox-sent")
    events = events_of(db, site_id)
    transitions = [e for e in events if e.action == "transition"]
    assert [e.note for e in transitions] == [
        "第一次：开始清理",
        "第二次：淤泥清完",
        "第三次：消杀完成 <b>不是HTML</b>",
    ]
    assert [e.to_status for e in transitions] == ["clearing", "cleared", "disinfected"]
    assert [e.action for e in events] == ["report", "transition", "transition", "transition"]
    assert len({e.client_id for e in transitions}) == 3
    second = transitions[1]
    assert second.measures == {"silt_m3": 12.5, "garbage_t": 3.0}
    assert second.details["position"]["crs"] == "wgs84"
    assert abs(second.details["position"]["lon"] - HERE["longitude"]) < 1e-6
    db.rollback()
    photos = list(db.scalars(select(Photo).where(Photo.site_id == site_id)))
    assert len(photos) == 1 and photos[0].complete and photos[0].content_type == "image/png"
    assert second.details["photos"] == [photos[0].upload_id]
    assert all(e.flag is None for e in events)
    db.rollback()
    assert verify(db) == []
    assert hosts == {"127.0.0.1"}

    page.goto(f"{live_server}/field/#/site/{site_id}")
    page.wait_for_selector("#site-status >> text=已消杀", timeout=WAIT_MS)
    thumb = page.locator(".thumbs img")
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('.thumbs img').naturalWidth > 0", timeout=WAIT_MS)
    assert thumb.count() == 1
    assert page.locator("#history .event.pending").count() == 0
    shoot(page, tmp_path, "6-site-done")


def test_a_stale_offline_edit_shows_its_conflict_submit_mine(phone, live_server, seeded_app, db, tmp_path):
    client = seeded_app.test_client()
    page, site_id = offline_change(
        phone, live_server, seeded_app, "冲突测试清淤点", "已清淤", "我的离线修改", {"silt_m3": 4}
    )

    # meanwhile a commander records that clearing started: now, after my edit in valid time
    etag = client.get(f"/api/v1/sites/{site_id}", headers=auth("commander")).headers["ETag"]
    response = client.post(
        f"/api/v1/sites/{site_id}/events",
        json={"status": "clearing", "note": "指挥中心：已派队清理", "valid_at": ago(seconds=0)},
        headers={**auth("commander"), "If-Match": etag, "Idempotency-Key": "commander-change-1"},
    )
    assert response.status_code == 201

    phone.set_offline(False)
    page.goto(f"{live_server}/field/#/outbox")
    page.wait_for_selector("#outbox .item[data-state=conflict]", timeout=WAIT_MS)
    page.wait_for_selector("#queue [data-count=conflict]")
    conflict = page.inner_text("#outbox .conflict")
    assert "你的修改" in conflict and "我的离线修改" in conflict
    assert "服务器当前状态" in conflict and "清理中" in conflict and "指挥中心：已派队清理" in conflict
    shoot(page, tmp_path, "7-conflict")
    notes = [e.note for e in events_of(db, site_id)]
    assert "我的离线修改" not in notes  # nothing was applied over the commander's change

    page.click("#outbox .conflict [data-action=resubmit]")
    wait_all_sent(page)
    page.wait_for_selector("#outbox .item[data-state=sent]", timeout=WAIT_MS)
    events = events_of(db, site_id)
    assert [e.note for e in events if e.action == "transition"] == ["指挥中心：已派队清理", "我的离线修改"]
    mine = events[-1]
    assert (
        mine.from_status == "clearing" and mine.to_status == "cleared" and mine.measures == {"silt_m3": 4.0}
    )
    # submitted on the current version, my change follows the commander's and is the site's current state
    theirs = next(e for e in events if e.note == "指挥中心：已派队清理")
    assert mine.valid_at > theirs.valid_at
    assert sorted(events, key=lambda e: (e.valid_at, e.id))[-1].id == mine.id
    site = client.get(f"/api/v1/sites/{site_id}", headers=auth("commander")).get_json()["properties"]
    assert site["status"] == "cleared"
    chain = [(h["from_status"], h["to_status"]) for h in site["history"]]
    assert chain[-2:] == [("reported", "clearing"), ("clearing", "cleared")]
    db.rollback()
    assert verify(db) == []
    shoot(page, tmp_path, "8-conflict-resolved")


def test_report_a_new_site_and_check_in_at_a_disinfection_point(phone, live_server, seeded_app, db, tmp_path):
    page = phone.new_page()
    open_field_app(page, live_server)
    page.goto(f"{live_server}/field/#/new")
    page.wait_for_selector("#report-form")
    # the base map is the zone's own geodata: five sub-districts, roads and rivers drawn as vector paths
    page.wait_for_function("() => document.querySelectorAll('#map path').length >= 5", timeout=WAIT_MS)
    page.select_option("#kind", "road_collapse")
    page.fill("#name", "长椿路塌陷 <script>alert(1)</script>")
    page.click("#submit-report")
    page.wait_for_selector("#notice >> text=道路等级")  # road class is required
    page.select_option("#attr-road_class", "main")
    page.check("input[name=where][value=here]")
    shoot(page, tmp_path, "9-report")
    page.click("#submit-report")
    page.wait_for_selector("#new-site-link", timeout=WAIT_MS)  # confirmed, with a link to the new site
    wait_all_sent(page)
    from recovery.models import Site

    db.rollback()
    site = db.scalars(select(Site).where(Site.name.like("长椿路塌陷%"))).one()
    assert site.kind == "road_collapse" and site.subdistrict == "fengyang"
    assert site.attributes["road_class"] == "main" and site.status == "reported"

    # a disinfection point of theirs, checked in after a confirmation; a second check-in is not offered
    point = client_point(seeded_app.test_client())
    page.goto(f"{live_server}/field/#/site/{point}")
    page.wait_for_selector("#check-in")
    page.click("#check-in")
    page.click("[data-action=confirm-check-in]")  # confirmed, then sent once its undo window has passed
    page.wait_for_selector("#notice >> text=已在", timeout=WAIT_MS)
    wait_all_sent(page)
    page.wait_for_selector("#check-in:disabled")
    checkins = [e for e in events_of(db, point) if e.action == "check_in"]
    assert len([e for e in checkins if e.valid_at.date() == checkins[-1].valid_at.date()]) >= 1
    shoot(page, tmp_path, "10-check-in")
    db.rollback()
    assert verify(db) == []


def client_point(client) -> int:
    sites = client.get(
        "/api/v1/sites?mine=1&kind=disinfection_point&include_done=1", headers=auth("field")
    ).get_json()
    assert sites["features"], "the seed has disinfection points in fengyang"
    return sites["features"][0]["id"]


def test_a_change_waits_for_the_new_password_a_raised_role_asks_for(
    phone, live_server, seeded_app, db, tmp_path
):
    """The field user is made a commander (who needs a longer password) while a change waits on the phone: the
    server refuses it until a new password is set (403 password_change_required); the phone keeps it queued,
    says why and links to the password page, and sends it once the password is changed."""
    from recovery.admin.audit import command_line_actor
    from recovery.admin.users import edit_user

    page, site_id = offline_change(
        phone, live_server, seeded_app, "改密码前的清淤点", "清理中", "角色调整前记下的"
    )
    with seeded_app.app_context():
        from recovery.db import get_session

        user = edit_user(get_session(), command_line_actor(), "field", role="commander")
        assert user.must_change_password
    phone.set_offline(False)
    page.wait_for_selector("#notice >> text=请先设置新密码", timeout=WAIT_MS)
    assert page.locator("#notice a").get_attribute("href") == "/account/password"
    page.goto(f"{live_server}/field/#/outbox")
    page.wait_for_selector("#outbox .item[data-state=queued]", timeout=WAIT_MS)
    assert page.locator("#outbox .item[data-state=failed]").count() == 0
    assert [e.action for e in events_of(db, site_id)] == ["report"]
    shoot(page, tmp_path, "7-password-first")

    page.goto(f"{live_server}/account/password")
    page.fill("#current", TEST_PASSWORD)
    new = "一个足够长的新密码-2021"
    page.fill("#new", new)
    page.fill("#again", new)
    page.click("section.login button[type=submit]")
    page.wait_for_selector("text=密码已修改", timeout=WAIT_MS)
    page.goto(f"{live_server}/field/#/site/{site_id}")
    wait_all_sent(page)
    assert [e.note for e in events_of(db, site_id) if e.action == "transition"] == ["角色调整前记下的"]
