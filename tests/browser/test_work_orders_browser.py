"""The command loop (督查交办) in headless Chromium: issue 14's acceptance journey and screenshots of its pages.

An admin points 城市管理局's webhook at a local receiver (127.0.0.1, generic JSON); a commander opens a 督办 order
for a site on the new-order page; the unit's user, on a phone, finds it in the inbox, acknowledges, feeds back and
resolves with a photo; the commander, at a desk, returns it once; the unit resolves again; the commander verifies
(with a photo, the order concerns a site) and closes it. The timeline lists every step in order, the figures
(open, overdue, closed; the unit's row on the board) move as each step says, and after `recovery worker --once`
the receiver holds exactly one message per step that notifies the unit (opening and return)."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from support.accounts import auth
from support.browser import SHOTS, sign_in
from support.photos import jpeg_bytes

from recovery import workitems

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
UNIT = "urban_management"
#: how long a step may take to appear in the page
WAIT_MS = 30_000
TITLE = "科学大道塌陷点围挡加固（浏览器测试）"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Receiver:
    """A generic JSON webhook receiver on 127.0.0.1 that keeps every body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _context(browser, size, locale="zh-CN"):
    return browser.new_context(viewport=size, locale=locale, timezone_id="Asia/Shanghai")


def _shot(page, tmp_path, name: str) -> None:
    shot = (SHOTS or tmp_path) / f"workorders-{name}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000


def _a_road_collapse(client) -> int:
    response = client.get("/api/v1/sites?kind=road_collapse&limit=1", headers=auth("commander"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["features"][0]["id"]


def _figures(client) -> dict:
    """The figures the board shows: the whole (open, overdue, closed) and 城市管理局's row."""
    body = client.get("/api/v1/work-items/board", headers=auth("commander")).get_json()
    row = next((u for u in body["units"] if u["unit"] == UNIT), None) or {}
    return {k: row.get(k, 0) for k in ("open", "red", "yellow", "to_check", "closed")}


def _summary(page) -> dict:
    """Open, overdue and closed as the board's summary line prints them."""
    numbers = [int(n) for n in page.locator("p.wo-summary strong").all_inner_texts()]
    return dict(zip(("open", "overdue", "closed"), numbers, strict=True))


def _act(page, action: str, note: str = "", photo=None) -> None:
    """Take a step on the order's page (the form reloads the page when the API has recorded it)."""
    version = page.get_attribute("#item", "data-version")
    page.check(f"#act input[name=action][value={action}]")
    if note:
        page.fill("#act textarea[name=note]", note)
    if photo is not None:
        page.set_input_files("#act input[name=photos]", photo)
    with page.expect_navigation():
        page.click("#act button[type=submit]")
    page.wait_for_load_state()
    assert page.get_attribute("#item", "data-version") == str(int(version) + 1), page.inner_text(
        ".act-status"
    )


def test_a_supervision_order_from_assignment_to_closure(browser, live_server, seeded_app, receiver, tmp_path):
    client = seeded_app.test_client()
    site_id = _a_road_collapse(client)

    # 0. the admin points 城市管理局's webhook at the receiver (a generic JSON webhook, signed)
    hook = client.post(
        "/api/v1/admin/webhooks",
        headers=auth("admin"),
        json={"unit": "城市管理局", "kind": "generic", "url": receiver.url, "secret": "s" * 16},
    )
    assert hook.status_code == 201, hook.get_json()

    commander = _context(browser, DESKTOP).new_page()
    commander.on("dialog", lambda dialog: dialog.accept())  # the confirmations of return and close
    sign_in(commander, live_server, "/work-items/board")
    before = _summary(commander)
    units = client.get("/api/v1/work-items/board", headers=auth("commander")).get_json()["units"]
    assert before["open"] == sum(u["open"] + u["to_check"] for u in units)  # the page and the API agree
    assert before["closed"] == sum(u["closed"] for u in units)
    row0 = _figures(client)

    def figures_now(expected_open, expected_closed, **row_change):
        """The board's summary line and the unit's row, against the figures before the order was opened."""
        commander.goto(f"{live_server}/work-items/board")
        assert _summary(commander) == {
            "open": before["open"] + expected_open,
            "overdue": before[
                "overdue"
            ],  # a new order is not late: nothing it does changes the overdue count
            "closed": before["closed"] + expected_closed,
        }
        row = _figures(client)
        want = {k: row0[k] + row_change.get(k, 0) for k in ("open", "to_check", "closed")}
        assert {k: row[k] for k in want} == want, row
        return row

    # 1. the commander issues a 督办 order from the map: opens the site, selects it, names the order and the unit
    commander.goto(f"{live_server}/map?site={site_id}")
    commander.wait_for_selector(f"body[data-focused='{site_id}']", timeout=WAIT_MS)
    popup = commander.locator(".leaflet-popup-content")
    assert (
        popup.locator("a").first.get_attribute("href").endswith(f"/sites/{site_id}")
    )  # the desk's site page
    popup.locator("button.select-site").click()
    commander.fill("#order-title", TITLE)
    commander.select_option("#order-unit", UNIT)
    commander.click("#order-issue")
    link = commander.locator("#command-result a.order-link")
    link.wait_for(timeout=WAIT_MS)
    link.click()  # the answer links to the new order's page
    commander.wait_for_url(lambda url: urlsplit(url).path.rstrip("/").split("/")[-1].isdigit())
    item_id = int(urlsplit(commander.url).path.rstrip("/").split("/")[-1])
    assert TITLE in commander.inner_text("h1")
    row = figures_now(1, 0, open=1)
    assert row["red"] + row["yellow"] == row0["red"] + row0["yellow"] + 1  # 签收 due today: a card at once
    assert TITLE in commander.inner_text(f"#u-{UNIT}")  # listed under its unit, with its card
    _shot(commander, tmp_path, "board-zh")
    commander.goto(f"{live_server}/work-items/board?lang=en")
    assert "Supervision board" in commander.inner_text("h1")
    _shot(commander, tmp_path, "board-en")
    commander.goto(f"{live_server}/work-items/board?lang=zh_CN")

    # 2. the unit's user, on a phone, finds it in the inbox under 待签收
    unit = _context(browser, PHONE).new_page()
    sign_in(unit, live_server, "/work-items/inbox", user="unit_urban")
    assert TITLE in unit.inner_text("#to_acknowledge")
    assert "待签收" in unit.inner_text("nav.wo-tabs")
    assert unit.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(unit, tmp_path, "inbox-phone-zh")
    unit.goto(f"{live_server}/work-items/inbox?lang=en")
    assert "To acknowledge" in unit.inner_text("nav.wo-tabs")
    _shot(unit, tmp_path, "inbox-phone-en")
    unit.goto(f"{live_server}/work-items/inbox?lang=zh_CN")
    unit.click(f"#to_acknowledge a:has-text('{TITLE}')")
    unit.wait_for_url(f"{live_server}/work-items/{item_id}")

    # 3. acknowledges, feeds back, resolves with a photo
    _act(unit, "acknowledge")
    row = figures_now(1, 0, open=1)
    assert (
        row["red"] + row["yellow"] == row0["red"] + row0["yellow"]
    )  # acknowledged: the next due is days away
    _act(unit, "feedback", "已到现场，围挡材料已备")
    figures_now(1, 0, open=1)
    photo = {"name": "围挡.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes((320, 240))}
    _act(unit, "resolve", "围挡已补齐，警示灯已装", photo)
    assert unit.locator("li.step-resolve .wo-photos img").count() == 1
    figures_now(1, 0, to_check=1)

    # 4. the commander returns it once
    commander.goto(f"{live_server}/work-items/{item_id}")
    _act(commander, "return", "警示灯数量不足，请补装")
    figures_now(1, 0, open=1)

    # 5. the unit resolves it again
    unit.goto(f"{live_server}/work-items/{item_id}")
    assert "退回" in unit.inner_text(".wo-meta")
    _act(unit, "resolve", "已补装警示灯 6 盏", photo)
    figures_now(1, 0, to_check=1)

    # 6. the commander verifies (a photo is needed: the order concerns a site) and closes it
    commander.goto(f"{live_server}/work-items/{item_id}")
    commander.check("#act input[name=action][value=verify]")
    commander.click("#act button[type=submit]")
    commander.wait_for_selector(".act-status:has-text('照片')")  # refused, in the reader's language
    _act(commander, "verify", "现场核查合格", {**photo, "name": "核查.jpg"})
    figures_now(1, 0, to_check=1)
    commander.goto(f"{live_server}/work-items/{item_id}")
    _act(commander, "close")
    figures_now(0, 1, closed=1)
    assert _figures(client)["red"] + _figures(client)["yellow"] == row0["red"] + row0["yellow"]

    # the timeline shows every step in order, who took it, with the photos of the steps that carry them
    commander.goto(f"{live_server}/work-items/{item_id}")
    steps = commander.locator("ol.wo-timeline > li").evaluate_all("items => items.map(li => li.className)")
    assert steps == [
        f"step-{s}"
        for s in ("open", "acknowledge", "feedback", "resolve", "return", "resolve", "verify", "close")
    ]
    names = commander.locator("ol.wo-timeline > li > strong").all_inner_texts()
    assert names == ["交办", "签收", "反馈", "办结", "退回", "办结", "核查", "销号"]
    assert commander.locator("ol.wo-timeline .wo-photos img").count() == 3
    assert "销号" in commander.inner_text(".wo-meta")
    offered = commander.locator("#act input[name=action]").evaluate_all("xs => xs.map(x => x.value)")
    assert offered == ["reopen"]  # a closed order: only a commander's reopening is left
    # the fields of other steps (a new deadline, a unit to hand to) stay hidden
    assert not commander.is_visible("#act .when-until") and not commander.is_visible("#act .when-transfer")
    _shot(commander, tmp_path, "item-zh")
    commander.goto(f"{live_server}/work-items/{item_id}?lang=en")
    assert commander.locator("ol.wo-timeline > li > strong").all_inner_texts()[0] == "Assigned"
    _shot(commander, tmp_path, "item-en")
    commander.goto(f"{live_server}/work-items/board?lang=zh_CN")
    api = client.get(f"/api/v1/work-items/{item_id}", headers=auth("commander")).get_json()
    assert [s["action"] for s in api["timeline"]] == [
        "open",
        "acknowledge",
        "feedback",
        "resolve",
        "return",
        "resolve",
        "verify",
        "close",
    ]
    assert api["status"] == "closed" and api["returned"] == 1

    # the worker delivers the outbox: exactly one message per step that gives the unit something to do
    assert receiver.bodies == []  # nothing is sent from the request itself
    result = seeded_app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    ours = [b for b in receiver.bodies if b["work_item_id"] == item_id]
    expected = [s["action"] for s in api["timeline"] if s["action"] in workitems.NOTIFY_UNIT]
    assert expected == ["open", "return"]
    assert [b["event"] for b in ours] == [f"work_item.{a}" for a in expected]
    assert len({b["delivery_id"] for b in ours}) == len(ours)
    assert all(b["recipient_unit"] == UNIT and b["key"] == api["key"] for b in ours)
    # a second run sends nothing again
    again = seeded_app.test_cli_runner().invoke(args=["worker", "--once"])
    assert again.exit_code == 0 and "sent 0" in again.output
    assert len([b for b in receiver.bodies if b["work_item_id"] == item_id]) == 2


def _order(client, title: str, *steps: str) -> dict:
    """An order for 城市管理局 (no site) brought through the unit's `steps`."""
    response = client.post(
        "/api/v1/work-items",
        json={"category": "督办", "title": title, "unit": UNIT},
        headers=auth("commander") | {"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    for action in steps:
        done = client.post(
            f"/api/v1/work-items/{item['id']}/events",
            json={"action": action, "note": "已完成"},
            headers=auth("unit_urban")
            | {"If-Match": f'"{item["version"]}"', "Idempotency-Key": uuid.uuid4().hex},
        )
        assert done.status_code == 201, done.get_json()
        item = done.get_json()["item"]
    return item


def test_bulk_actions_on_the_board_ask_first_and_touch_only_the_orders_that_can_take_them(
    browser, live_server, seeded_app, tmp_path
):
    client = seeded_app.test_client()
    waiting = [_order(client, f"批量催办 {n}") for n in range(2)]
    resolved = _order(client, "批量销号", "resolve")
    page = _context(browser, DESKTOP).new_page()
    asked: list[str] = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    sign_in(page, live_server, "/work-items/board")
    for item in (*waiting, resolved):
        page.check(f"input[name=pick][value='{item['id']}']")
    # 销号 takes only the resolved order; the confirmation says so
    page.click("button[data-bulk=close]")
    page.wait_for_function("() => /1/.test(document.querySelector('.bulk-status').textContent)")
    assert "1 项已办结事项销号" in asked[-1] and "另有 2 项" in asked[-1]
    assert "已销号 1 项" in page.inner_text(".bulk-status")
    state = lambda i: client.get(f"/api/v1/work-items/{i['id']}", headers=auth("commander")).get_json()  # noqa: E731
    assert state(resolved)["status"] == "closed"
    assert [state(i)["status"] for i in waiting] == ["open", "open"]
    # 催办 the two open ones (the resolved one is gone from the picks: closed)
    page.wait_for_load_state()
    page.goto(f"{live_server}/work-items/board")
    assert page.locator(f"input[name=pick][value='{resolved['id']}']").count() == 0
    for item in waiting:
        page.check(f"input[name=pick][value='{item['id']}']")
    page.click("button[data-bulk=remind]")
    page.wait_for_function("() => /2/.test(document.querySelector('.bulk-status').textContent)")
    assert asked[-1] == "确定对 2 个事项催办？"
    assert [state(i)["reminders"] for i in waiting] == [1, 1]
    # nothing picked: a message, no question
    page.goto(f"{live_server}/work-items/board")
    before = len(asked)
    page.click("button[data-bulk=remind]")
    assert "请先至少选择" in page.inner_text(".bulk-status")
    assert len(asked) == before
