"""The command loop (督查交办) on both databases: open, every step allowed and refused per state and role, the 13710
clocks with a return and an extension, as of a day and as known at a time, idempotent replay, stale versions, a
unit reading another unit's order, the inbox and board, the pages, the commands and the seed on 29 July."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from support.accounts import auth

from recovery.metrics.compute import evaluate_all
from recovery.metrics.cube import cube_from_ledger
from recovery.models import Event, WorkItem
from recovery.timeutil import ZONE, end_of_day

API = "/api/v1/work-items"


def key() -> str:
    return uuid.uuid4().hex


def open_order(client, **extra):
    body = {
        "category": "督办",
        "title": "科学大道塌陷点围挡加固",
        "unit": "城市管理局",
        "site_ids": [],
    } | extra
    response = client.post(API, json=body, headers=auth("commander") | {"Idempotency-Key": key()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def step(client, item, action, who, *, expect=201, version=None, **body):
    headers = auth(who) | {
        "If-Match": f'"{item["version"] if version is None else version}"',
        "Idempotency-Key": key(),
    }
    response = client.post(f"{API}/{item['id']}/events", json={"action": action, **body}, headers=headers)
    assert response.status_code == expect, (action, who, response.get_json())
    return response.get_json()["item"] if expect == 201 else response.get_json()


#: the steps that bring a new order into each state, and who takes them
TO_STATE = {
    "open": [],
    "acknowledged": [("acknowledge", "unit_urban", {})],
    "fed_back": [("feedback", "unit_urban", {"note": "已现场核实"})],
    "returned": [("resolve", "unit_urban", {"note": "已回填"}), ("return", "commander", {"note": "未压实"})],
    "resolved": [("resolve", "unit_urban", {"note": "已回填"})],
    "verified": [("resolve", "unit_urban", {"note": "已回填"}), ("verify", "commander", {"photos": None})],
    "closed": [("resolve", "unit_urban", {"note": "已回填"}), ("close", "commander", {})],
}
#: a body each action is valid with
BODIES = {
    "acknowledge": {},
    "feedback": {"note": "进展"},
    "resolve": {"note": "已办结"},
    "verify": {},
    "return": {"note": "退回重办"},
    "close": {},
    "request_extension": {
        "note": "申请延期",
        "until": (datetime.now(ZONE) + timedelta(days=60)).date().isoformat(),
    },
    "approve_extension": {},
    "refuse_extension": {"note": "不同意"},
    "transfer": {"note": "转办", "to_unit": "枫杨办事处"},
    "remind": {},
    "reopen": {"note": "复发"},
}
ALLOWED = {
    "open": {"acknowledge", "feedback", "resolve", "request_extension", "transfer", "remind"},
    "acknowledged": {"feedback", "resolve", "request_extension", "transfer", "remind"},
    "fed_back": {"feedback", "resolve", "request_extension", "transfer", "remind"},
    "returned": {"feedback", "resolve", "request_extension", "transfer", "remind"},
    "resolved": {"verify", "return", "close"},
    "verified": {"return", "close"},
    "closed": {"reopen"},
}
UNIT_STEPS = {"acknowledge", "feedback", "resolve", "request_extension"}


def bring_to(client, state: str, **extra):
    item = open_order(client, site_ids=[], **extra)
    for action, who, body in TO_STATE[state]:
        item = step(client, item, action, who, **{k: v for k, v in body.items() if v is not None})
    assert item["status"] == state
    return item


@pytest.mark.parametrize("state", sorted(TO_STATE))
def test_every_step_allowed_and_refused_in_each_state_for_each_role(client, state):
    for action, body in BODIES.items():
        item = bring_to(client, state)
        # the wrong side is a 403 whatever the state, with a message in the caller's language
        wrong = "commander" if action in UNIT_STEPS else "unit_urban"
        refused = step(client, item, action, wrong, expect=403, **body)
        assert refused["error"]["code"] == "forbidden"
        step(client, item, action, "unit_fengyang", expect=403, **body)  # another unit
        step(client, item, action, "reporter", expect=403, **body)  # readers never act
        right = "unit_urban" if action in UNIT_STEPS else "commander"
        if action in ALLOWED[state] and action not in ("approve_extension", "refuse_extension"):
            changed = step(client, item, action, right, **body)
            assert changed["version"] == item["version"] + 1
        elif action in ("approve_extension", "refuse_extension"):
            # possible only while an extension is asked for
            step(client, item, action, right, expect=409, **body)
        else:
            answer = step(client, item, action, right, expect=409, **body)
            assert answer["error"]["code"] == "transition_not_allowed"


def test_the_loop_end_to_end_with_the_13710_clocks(client):
    t0 = datetime(2021, 7, 25, 10, 30, tzinfo=ZONE)
    item = open_order(client, valid_at=t0.isoformat(), severity="一般", co_units=["枫杨办事处"])
    assert item["status"] == "open" and item["status_label"] == "已交办"
    assert item["resolve_due"] == (t0 + timedelta(days=7)).isoformat()
    assert item["acknowledge_due"] == datetime(2021, 7, 26, tzinfo=ZONE).isoformat()

    def at(days: float) -> str:
        return (t0 + timedelta(days=days)).isoformat()

    item = step(client, item, "acknowledge", "unit_urban", valid_at=at(0.1))
    item = step(client, item, "feedback", "unit_fengyang", note="配合单位已到场", valid_at=at(1))  # a co-unit
    step(
        client, item, "resolve", "unit_fengyang", note="x", valid_at=at(2), expect=403
    )  # only the lead resolves
    item = step(
        client, item, "request_extension", "unit_urban", note="雨天", until="2021-08-05", valid_at=at(2)
    )
    assert item["extension_until"] is not None and item["resolve_due"] == at(7)  # not moved until approved
    step(
        client,
        item,
        "request_extension",
        "unit_urban",
        note="again",
        until="2021-08-06",
        valid_at=at(2.1),
        expect=409,
    )
    item = step(client, item, "approve_extension", "commander", valid_at=at(2.2))
    assert item["resolve_due"] == datetime(2021, 8, 6, tzinfo=ZONE).isoformat()  # the end of 5 August
    item = step(client, item, "resolve", "unit_urban", note="已回填", valid_at=at(8))
    item = step(client, item, "return", "commander", note="未压实", valid_at=at(8.5))
    assert item["status"] == "returned" and item["resolved_at"] is None
    item = step(client, item, "resolve", "unit_urban", note="已压实", valid_at=at(10))
    item = step(client, item, "close", "commander", valid_at=at(10.5))
    assert item["status"] == "closed" and item["status_label"] == "已销号"
    page = client.get(f"{API}/{item['id']}", headers=auth("unit_urban")).get_json()
    assert [s["action"] for s in page["timeline"]] == [
        "open",
        "acknowledge",
        "feedback",
        "request_extension",
        "approve_extension",
        "resolve",
        "return",
        "resolve",
        "close",
    ]
    on_time = {s["action"]: s["on_time"] for s in page["timeline"] if s["on_time"] is not None}
    # the first resolve (day 8) met the extended deadline (end of 5 August = day 11.5); the second too
    assert on_time == {"acknowledge": True, "feedback": True, "resolve": True}
    assert page["returned"] == 1
    # a step placed before the last one is refused; a commander reopens a closed order, on record
    step(client, item, "remind", "commander", valid_at=at(9), expect=409)
    item = step(client, item, "reopen", "commander", note="复发", valid_at=at(11))
    assert item["status"] == "returned"


def test_figures_as_of_a_day_and_as_known_at_a_time(app, client):
    t0 = datetime(2021, 7, 25, 10, 30, tzinfo=ZONE)
    item = open_order(client, valid_at=t0.isoformat(), site_ids=[])
    step(client, item, "resolve", "unit_urban", note="x", valid_at=(t0 + timedelta(days=9)).isoformat())
    from recovery.db import get_session

    with app.app_context():
        session = get_session()

        def figures(as_of, known=None):
            f = evaluate_all(cube_from_ledger(session, as_of, known))
            return (
                f["work_items_open"].value,
                f["work_items_overdue_resolve"].value,
                f["work_items_closed"].value,
            )

        assert figures(t0 - timedelta(hours=1)) == (0, 0, 0)
        assert figures(t0 + timedelta(days=8)) == (1, 1, 0)  # past its 7 days, not resolved
        assert figures(t0 + timedelta(days=10)) == (1, 0, 0)  # resolved (late), not yet closed
        recorded = session.scalar(select(func.max(Event.recorded_at)).where(Event.work_item_id == item["id"]))
        # as known before the resolution was recorded, the order was still overdue on day 10
        assert figures(t0 + timedelta(days=10), recorded - timedelta(microseconds=1)) == (1, 1, 0)


def test_replay_stale_versions_and_missing_if_match(client):
    item = open_order(client, site_ids=[])
    headers = auth("unit_urban") | {"If-Match": '"1"', "Idempotency-Key": "retry-0001"}
    first = client.post(f"{API}/{item['id']}/events", json={"action": "acknowledge"}, headers=headers)
    again = client.post(f"{API}/{item['id']}/events", json={"action": "acknowledge"}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    stale = client.post(
        f"{API}/{item['id']}/events",
        json={"action": "feedback", "note": "x"},
        headers=auth("unit_urban") | {"If-Match": '"1"'},
    )
    assert stale.status_code == 412 and "版本" in stale.get_json()["error"]["message"]
    missing = client.post(
        f"{API}/{item['id']}/events", json={"action": "feedback", "note": "x"}, headers=auth("unit_urban")
    )
    assert missing.status_code == 428
    other_body = client.post(
        f"{API}/{item['id']}/events", json={"action": "feedback", "note": "other"}, headers=headers
    )
    assert other_body.status_code == 422  # the same key with another body
    got = client.get(f"{API}/{item['id']}", headers=auth("commander"))
    assert got.headers["ETag"] == '"2"' and [s["action"] for s in got.get_json()["timeline"]] == [
        "open",
        "acknowledge",
    ]
    # opening with the same key replays the same order: one order, one event
    body = {"category": "督办", "title": "同一件事", "unit": "urban_management"}
    h = auth("commander") | {"Idempotency-Key": "open-0001"}
    a, b = client.post(API, json=body, headers=h), client.post(API, json=body, headers=h)
    assert a.status_code == b.status_code == 201 and a.get_json()["id"] == b.get_json()["id"]


def test_bad_input_is_a_clear_4xx_and_changes_nothing(app, client):
    before = client.get(API, headers=auth("commander")).get_json()["total"]
    for body, code in [
        ({"category": "督办", "title": "", "unit": "城市管理局"}, 400),
        ({"category": "会飞", "title": "x", "unit": "城市管理局"}, 400),
        ({"category": "督办", "title": "x", "unit": "不存在的局"}, 400),
        ({"category": "督办", "title": "x", "unit": "城市管理局", "site_ids": [999999]}, 404),
        ({"category": "督办", "title": "x", "unit": "城市管理局", "site_ids": "1"}, 400),
        (
            {
                "category": "督办",
                "title": "x",
                "unit": "城市管理局",
                "milestones": [{"title": "a", "due": "tomorrow"}],
            },
            400,
        ),
        ({"category": "督办", "title": "x", "unit": "城市管理局", "severity": "urgent"}, 400),
    ]:
        response = client.post(API, json=body, headers=auth("commander") | {"Idempotency-Key": key()})
        assert response.status_code == code, (body, response.get_json())
        assert response.get_json()["error"]["message"]
    assert (
        client.post(
            API, json={"category": "督办", "title": "x", "unit": "城市管理局"}, headers=auth("unit_urban")
        ).status_code
        == 403
    )
    assert (
        client.post(
            API, json={"category": "督办", "title": "x", "unit": "城市管理局"}, headers=auth("field")
        ).status_code
        == 403
    )
    assert client.get(API, headers=auth("commander")).get_json()["total"] == before
    item = open_order(client, site_ids=[])
    for body in [
        {"action": "fly"},
        {"action": "feedback"},
        {"action": "request_extension", "note": "x"},
        {"action": "transfer", "note": "x"},
    ]:
        who = "commander" if body["action"] == "transfer" else "unit_urban"
        rest = {k: v for k, v in body.items() if k != "action"}
        response = step(client, item, body["action"], who, expect=400, **rest)
        assert response["error"]["message"]
    assert client.get(f"{API}/{item['id']}", headers=auth("commander")).get_json()["version"] == 1
    assert client.get(f"{API}/999999", headers=auth("commander")).status_code == 404


def test_a_unit_sees_and_acts_on_its_own_orders_only(client):
    mine = open_order(client, unit="城市管理局", site_ids=[])
    theirs = open_order(client, unit="商务局", site_ids=[])
    shared = open_order(client, unit="商务局", co_units=["城管局"], site_ids=[])
    assert client.get(f"{API}/{theirs['id']}", headers=auth("unit_urban")).status_code == 403
    assert client.get(f"/work-items/{theirs['id']}", headers=auth("unit_urban")).status_code == 403
    assert client.get(f"{API}/{shared['id']}", headers=auth("unit_urban")).status_code == 200
    listed = {i["id"] for i in client.get(API, headers=auth("unit_urban")).get_json()["items"]}
    assert listed == {mine["id"], shared["id"]}
    everything = {
        i["id"] for i in client.get(f"{API}?limit=500", headers=auth("reporter")).get_json()["items"]
    }
    assert {mine["id"], theirs["id"], shared["id"]} <= everything
    assert client.get(API, headers=auth("field")).status_code == 403
    box = client.get(f"{API}/inbox", headers=auth("unit_urban")).get_json()
    assert box["counts"]["to_acknowledge"] == 2 and {i["id"] for i in box["tabs"]["to_acknowledge"]} == listed
    # a filter by unit, status (any name) and overdue
    rows = client.get(f"{API}?unit=商务局&status=待签收", headers=auth("commander")).get_json()
    assert {i["id"] for i in rows["items"]} == {theirs["id"], shared["id"]}
    assert client.get(f"{API}?status=飞走了", headers=auth("commander")).status_code == 400
    assert client.get(f"{API}?limit=0", headers=auth("commander")).status_code == 400


def test_the_board_marks_red_and_yellow_and_counts_on_time(client):
    now = datetime.now(UTC)
    late = open_order(client, site_ids=[], valid_at=(now - timedelta(days=8)).isoformat())  # past 7 days: red
    soon = open_order(client, site_ids=[], valid_at=(now - timedelta(days=6, hours=12)).isoformat())
    step(
        client, soon, "feedback", "unit_urban", note="x"
    )  # acknowledged and fed back: resolve due in 12 h: yellow
    board = client.get(f"{API}/board", headers=auth("commander")).get_json()["units"]
    urban = next(u for u in board if u["unit"] == "urban_management")
    cards = {i["id"]: i["card"] for i in urban["items"]}
    assert cards[late["id"]] == "red" and cards[soon["id"]] == "yellow"
    assert [i["card"] for i in urban["items"]][:1] == ["red"]  # overdue first
    assert urban["due"] == 1 and urban["on_time"] == 0 and urban["on_time_rate"] == 0
    assert client.get(f"{API}/board", headers=auth("unit_urban")).status_code == 403


@pytest.mark.parametrize("who", ["commander", "reporter", "admin", "unit_urban"])
def test_pages_render_for_each_reader(seeded_client, who):
    client = seeded_client
    item = open_order(client, site_ids=[1])
    inbox = client.get("/work-items/inbox", headers=auth(who))
    assert inbox.status_code == 200
    page = client.get(f"/work-items/{item['id']}", headers=auth(who)).get_data(as_text=True)
    assert item["key"] in page and "办理过程" in page
    if who == "unit_urban":
        assert "城市管理局" in inbox.get_data(as_text=True) and "待签收" in inbox.get_data(as_text=True)
        assert 'value="acknowledge"' in page
        assert client.get("/work-items/board", headers=auth(who)).status_code == 403
    else:
        assert 'value="acknowledge"' not in page
        assert client.get("/work-items/board", headers=auth(who)).status_code == 200
    assert client.get("/work-items/inbox", headers=auth("field")).status_code == 403


def test_the_commands(app, runner):
    from recovery.db import get_session

    added = runner.invoke(
        args=[
            "users",
            "add",
            "cgj",
            "--role",
            "unit",
            "--unit",
            "城市管理局",
            "--password",
            "long enough pass 1",
        ]
    )
    assert added.exit_code == 0, added.output
    refused = runner.invoke(
        args=["users", "add", "nobody", "--role", "unit", "--password", "long enough pass 1"]
    )
    assert refused.exit_code != 0 and "needs the unit" in refused.output
    opened = runner.invoke(
        args=["work-items", "open", "--as", "commander", "--title", "命令行督办", "--unit", "城管局"]
    )
    assert opened.exit_code == 0, opened.output
    with app.app_context():
        item = get_session().scalar(select(WorkItem).where(WorkItem.title == "命令行督办"))
    acted = runner.invoke(args=["work-items", "act", item.key, "acknowledge", "--as", "cgj"])
    assert acted.exit_code == 0 and "已签收" in acted.output, acted.output
    wrong = runner.invoke(args=["work-items", "act", item.key, "close", "--as", "cgj"])
    assert wrong.exit_code != 0 and "commander" in wrong.output
    listed = runner.invoke(args=["work-items", "list", "--as", "cgj"])
    assert item.key in listed.output
    shown = runner.invoke(args=["work-items", "show", item.key])
    assert '"acknowledge"' in shown.output
    units = runner.invoke(
        args=["units", "set", "城市管理局", "--leader", "王局长", "--contact", "李联络,0371-1234"]
    )
    assert units.exit_code == 0, units.output
    listing = runner.invoke(args=["units", "list"])
    assert "王局长" in listing.output and "李联络" in listing.output
    audit = runner.invoke(args=["audit"])
    assert "unit:urban_management" in audit.output


def test_the_seed_has_an_order_in_every_state_on_29_july(seeded_session):
    from recovery.ledger.asof import work_item_states

    states = work_item_states(seeded_session, end_of_day(datetime(2021, 7, 29).date()), None)
    assert {"open", "acknowledged", "fed_back", "returned", "resolved", "verified", "closed"} <= {
        s.status for s in states.values()
    }
    assert any(s.extension_until is not None for s in states.values())
    from recovery.ledger.bulk import verify

    assert verify(seeded_session) == []


def test_each_step_that_gives_work_notifies_once(client):
    def notices(who):
        return client.get("/api/v1/notices", headers=auth(who)).get_json()["notices"]

    item = open_order(client, co_units=["枫杨办事处"])
    assert [n["work_item_id"] for n in notices("unit_urban")] == [item["id"]]
    assert [n["work_item_id"] for n in notices("unit_fengyang")] == [item["id"]]  # a co-unit is told too
    assert notices("commander") == []  # never the actor
    item = step(client, item, "acknowledge", "unit_urban")
    item = step(client, item, "feedback", "unit_urban", note="x")
    assert len(notices("commander")) == 0  # nothing to do for the command centre yet
    item = step(client, item, "resolve", "unit_urban", note="x")
    assert len(notices("commander")) == 1  # the one who opened it checks it
    step(client, item, "return", "commander", note="未完成")
    assert len(notices("unit_urban")) == 2 and len(notices("unit_fengyang")) == 1


def test_an_admin_keeps_the_units_leaders_and_contacts_on_record(app, client):
    from support.accounts import csrf_token, signed_in

    admin = signed_in(app, "admin")
    page = admin.get("/admin/units")
    assert page.status_code == 200 and "城市管理局" in page.get_data(as_text=True)
    token = csrf_token(page.get_data(as_text=True))
    saved = admin.post(
        "/admin/units/城管局",
        data={
            "csrf_token": token,
            "leader": "王局长",
            "contacts": "李联络，0371-67990000，督办联络员\n",
            "note": "",
        },
    )
    assert saved.status_code == 302
    shown = admin.get("/admin/units").get_data(as_text=True)
    assert "王局长" in shown and "李联络, 0371-67990000, 督办联络员" in shown
    bad = admin.post("/admin/units/urban_management", data={"csrf_token": token, "leader": "x" * 500})
    assert bad.status_code == 400
    assert admin.post("/admin/units/不存在", data={"csrf_token": token, "leader": "x"}).status_code == 400
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert "unit:urban_management" in audit and "王局长" in audit
    assert client.get("/admin/units", headers=auth("commander")).status_code == 403


def test_the_board_and_the_inbox_lead_to_every_order_a_page_at_a_time(app, client):
    """A unit with more open orders than the board (50 a unit) or an inbox tab (50) shows: a link to the rest,
    and the list pages through all of them, each once."""
    from recovery import workitems
    from recovery.db import get_session

    opened = datetime.now(UTC) - timedelta(hours=1)
    with app.app_context():
        session = get_session()
        for n in range(205):
            workitems.open_work_item(
                session,
                category="督办",
                title=f"积水点清淤 {n:03d}",
                responsible_unit="城市管理局",
                actor="指挥部",
                valid_at=opened,
            )
        session.commit()
    board = client.get("/work-items/board", headers=auth("commander")).get_data(as_text=True)
    assert "已显示 50 / 205 项" in board
    more = re.search(r'<p class="wo-more"><a href="([^"]+)"', board).group(1).replace("&amp;", "&")
    assert "unit=urban_management" in more
    inbox = client.get("/work-items/inbox", headers=auth("unit_urban")).get_data(as_text=True)
    assert "已显示 50 / 205 项" in inbox
    tab_more = re.search(r'<p class="wo-more"><a href="([^"]+)"', inbox).group(1).replace("&amp;", "&")
    assert "status=open" in tab_more
    seen: list[str] = []
    url = more
    for _page in range(10):
        page = client.get(url, headers=auth("commander"))
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        seen += re.findall(r"积水点清淤 \d{3}", text)
        following = re.search(r'<a href="([^"]+)" rel="next">', text)
        if not following:
            break
        url = following.group(1).replace("&amp;", "&")
    assert sorted(seen) == [f"积水点清淤 {n:03d}" for n in range(205)]  # every order once, none twice
    # a unit's user reads the same list of its own orders; another unit's user sees none of them
    assert "积水点清淤" in client.get(tab_more, headers=auth("unit_urban")).get_data(as_text=True)
    assert "积水点清淤" not in client.get(tab_more, headers=auth("unit_fengyang")).get_data(as_text=True)
    # bad paging is a clear 400
    assert client.get("/work-items/list?offset=-1", headers=auth("commander")).status_code == 400


@pytest.mark.parametrize("severity", ["general", "major"])
def test_the_boards_sql_marks_agree_with_the_rule_at_every_moment(app, client, severity):
    """`card_rank` (the board counts red and yellow cards in SQL) gives the same mark as `workitems.card` (the
    rule) for orders in every state, opened at different times, at moments before, at and after each deadline."""
    from recovery import workitems
    from recovery.db import get_session
    from recovery.workitems_read import card_rank, state_of_row

    now = datetime.now(UTC)
    for days_ago in (0, 2, 4, 6.5, 8, 29.5, 31):
        opened = (now - timedelta(days=days_ago)).isoformat()
        for state in TO_STATE:
            bring_to(client, state, valid_at=opened, severity=severity)
    extended = bring_to(
        client, "acknowledged", valid_at=(now - timedelta(days=10)).isoformat(), severity=severity
    )
    extended = step(
        client,
        extended,
        "request_extension",
        "unit_urban",
        note="材料未到",
        until=(now + timedelta(days=40)).date().isoformat(),
    )
    step(client, extended, "approve_extension", "commander")
    moments = [
        now + timedelta(hours=h)
        for h in (-30, -1, 0, 1, 11, 12, 13, 23, 24, 25, 49, 24 * 8, 24 * 31, 24 * 41)
    ]
    with app.app_context():
        session = get_session()
        items = session.scalars(select(WorkItem)).all()
        assert len(items) == 7 * len(TO_STATE) + 1
        marks = {"red": 0, "yellow": 1, None: 2}
        for at in moments:
            in_sql = dict(session.execute(select(WorkItem.id, card_rank(at))).all())
            by_rule = {i.id: marks[workitems.card(state_of_row(i), at)] for i in items}
            assert in_sql == by_rule, at
        seen = {workitems.card(state_of_row(i), at) for i in items for at in moments}
        assert seen == {"red", "yellow", None}  # the moments reach every mark


def test_an_order_with_no_site_takes_photos_of_its_own(app, client):
    """A 群众反映 order on no site: the unit uploads its photos to the order (resumable like a site's), a step
    carries them, the timeline shows them; a reporter, another unit or an unknown order is refused, and a step
    naming an upload that is not the caller's own for this order changes nothing."""
    from support.photos import jpeg_bytes

    item = open_order(client, category="群众反映", title="12345 热线：小区门口积水未退")
    url = f"{API}/{item['id']}/photos"
    photo = jpeg_bytes()
    half = len(photo) // 2
    first = client.put(
        f"{url}/wo-photo-0001",
        data=photo[:half],
        headers=auth("unit_urban")
        | {"Content-Type": "image/jpeg", "Content-Range": f"bytes 0-{half - 1}/{len(photo)}"},
    )
    assert first.status_code == 200 and first.get_json() == {"received": half, "complete": False}
    progress = client.get(f"{url}/wo-photo-0001", headers=auth("unit_urban")).get_json()
    assert progress["received"] == half
    done = client.put(
        f"{url}/wo-photo-0001",
        data=photo[half:],
        headers=auth("unit_urban")
        | {"Content-Type": "image/jpeg", "Content-Range": f"bytes {half}-{len(photo) - 1}/{len(photo)}"},
    )
    assert done.status_code == 201, done.get_json()
    # refused: a reader, another unit, an order that does not exist
    headers = {"Content-Type": "image/jpeg", "Upload-Id": "wo-photo-0002"}
    assert client.post(url, data=photo, headers=auth("reporter") | headers).status_code == 403
    assert client.post(url, data=photo, headers=auth("unit_fengyang") | headers).status_code == 403
    assert (
        client.post(f"{API}/999999/photos", data=photo, headers=auth("commander") | headers).status_code
        == 404
    )
    # a step with another user's upload changes nothing
    theirs = client.post(
        url,
        data=photo,
        headers=auth("commander") | {"Content-Type": "image/jpeg", "Upload-Id": "wo-photo-0003"},
    )
    assert theirs.status_code == 201
    refused = step(client, item, "resolve", "unit_urban", expect=400, note="已抽排", photos=["wo-photo-0003"])
    assert "wo-photo-0003" in refused["error"]["message"]
    assert client.get(f"{API}/{item['id']}", headers=auth("commander")).get_json()["status"] == "open"
    # with its own upload the step is taken and the timeline shows the photo
    item = step(client, item, "resolve", "unit_urban", note="已抽排", photos=["wo-photo-0001"])
    assert item["status"] == "resolved"
    page = client.get(f"{API}/{item['id']}", headers=auth("commander")).get_json()
    resolved = next(s for s in page["timeline"] if s["action"] == "resolve")
    assert [p["id"] for p in resolved["photos"]] == [done.get_json()["photo"]["id"]]
    html = client.get(f"/work-items/{item['id']}", headers=auth("commander")).get_data(as_text=True)
    assert f"/api/v1/photos/{done.get_json()['photo']['id']}" in html


def _docx(text: str = "会议纪要") -> bytes:
    """A minimal Word document (OOXML): a ZIP with its content types and a main part."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", f"<w:document><w:t>{text}</w:t></w:document>")
    return buffer.getvalue()


def test_an_order_keeps_its_documents(app, client):
    """会议交办 with its minutes: a PDF and a Word file attached by the commander and the unit, listed with the
    order, downloaded as files under their (Chinese) names; the same file twice is one attachment; what is not a
    document, an empty file, a reader, another unit and an unknown order are refused and store nothing."""
    from recovery.db import get_session
    from recovery.models_accounts import Attachment

    item = open_order(client, category="会议交办", title="7月28日调度会：积水点清淤")
    url = f"{API}/{item['id']}/attachments"
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    first = client.post(f"{url}?name=调度会纪要.pdf", data=pdf, headers=auth("commander"))
    assert first.status_code == 201, first.get_json()
    assert (
        first.get_json()["name"] == "调度会纪要.pdf" and first.get_json()["content_type"] == "application/pdf"
    )
    again = client.post(f"{url}?name=copy.pdf", data=pdf, headers=auth("commander"))
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]  # a retry: one file
    # a name with a folder and a wrong extension is cleaned; the type comes from the bytes
    word = client.post(f"{url}?name=../../etc/清淤方案.pdf", data=_docx(), headers=auth("unit_urban"))
    assert word.status_code == 201, word.get_json()
    assert word.get_json()["name"] == "清淤方案.pdf.docx"
    # a form upload (curl -F file=@…) names the file itself; a url-encoded form is not a file
    import io

    form = client.post(
        url, data={"file": (io.BytesIO(_docx("第二份")), "整改报告.docx")}, headers=auth("unit_urban")
    )
    assert form.status_code == 201 and form.get_json()["name"] == "整改报告.docx"
    encoded = client.post(url, data={"x": "1"}, headers=auth("unit_urban"))
    assert encoded.status_code == 400 and "octet-stream" in encoded.get_json()["error"]["message"]
    # refusals store nothing
    for body, who, where, status in [
        (b"<html><script>alert(1)</script></html>", "commander", url, 400),
        (b"PK\x03\x04not really a zip", "commander", url, 400),
        (b"", "commander", url, 400),
        (pdf + b"x", "reporter", url, 403),
        (pdf + b"y", "unit_fengyang", url, 403),
        (pdf + b"z", "commander", f"{API}/999999/attachments", 404),
    ]:
        refused = client.post(f"{where}?name=x.pdf", data=body, headers=auth(who))
        assert refused.status_code == status, (who, refused.get_json())
        assert refused.get_json()["error"]["message"]
    with app.app_context():
        assert get_session().query(Attachment).count() == 3
    # listed with the order, downloadable by its readers as a file, never shown inline
    listed = client.get(f"{API}/{item['id']}", headers=auth("reporter")).get_json()["attachments"]
    assert [a["name"] for a in listed] == ["调度会纪要.pdf", "清淤方案.pdf.docx", "整改报告.docx"]
    got = client.get(listed[0]["url"], headers=auth("reporter"))
    assert got.status_code == 200 and got.data == pdf
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E8%B0%83" in got.headers["Content-Disposition"]
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    got.close()
    assert client.get(listed[0]["url"], headers=auth("unit_fengyang")).status_code == 403
    other = open_order(client, title="另一事项")
    assert (
        client.get(
            f"{API}/{other['id']}/attachments/{listed[0]['id']}", headers=auth("commander")
        ).status_code
        == 404
    )
    page = client.get(f"/work-items/{item['id']}", headers=auth("unit_urban")).get_data(as_text=True)
    assert "调度会纪要.pdf" in page and 'id="attach"' in page
    assert 'id="attach"' not in client.get(f"/work-items/{item['id']}", headers=auth("reporter")).get_data(
        as_text=True
    )
