"""周观摩: a weekly review recorded as a visit, its problems handed out as work orders in one step (page form and
API, idempotent), and what became of each problem a week later and now. Commanders and admins write; reporters
read; nobody else."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from support.accounts import auth, csrf_token, signed_in
from support.databases import db
from support.sites import new_site

from recovery import workitems
from recovery.models import Review, WorkItem
from recovery.timeutil import parse_instant


def _post(client, url, body, who="commander", key=None):
    headers = {**auth(who), "Idempotency-Key": key or uuid.uuid4().hex}
    return client.post(url, json=body, headers=headers)


def _review(client, **extra):
    body = {"held_on": "2021-08-02", "title": "第一周现场观摩", "participants": ["张三", "李四"], **extra}
    response = _post(client, "/api/v1/reviews", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _problem(client, review_id, title, valid_at="2021-08-02T10:00:00+08:00", **extra):
    body = {"title": title, "unit": "城市管理局", "valid_at": valid_at, **extra}
    response = _post(client, f"/api/v1/reviews/{review_id}/problems", body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _count(app, model) -> int:
    with db(app) as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("who", ["commander", "admin", "reporter"])
def test_pages_and_api_render_for_readers(client, who):
    review = _review(client)
    for url in ("/reviews", f"/reviews/{review['id']}"):
        response = client.get(url, headers=auth(who))
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert "第一周现场观摩" in page
        # only writers get the forms
        assert ('method="post"' in page) is (who != "reporter"), (who, url)
    assert client.get("/api/v1/reviews", headers=auth(who)).get_json()["total"] == 1
    assert client.get(f"/api/v1/reviews/{review['id']}", headers=auth(who)).status_code == 200


@pytest.mark.parametrize("who", ["field", "unit_urban"])
def test_other_roles_are_refused(client, who):
    review = _review(client)
    for url in ("/reviews", f"/reviews/{review['id']}", "/api/v1/reviews", f"/api/v1/reviews/{review['id']}"):
        assert client.get(url, headers=auth(who)).status_code == 403, url


def test_reporters_may_not_write(client):
    review = _review(client)
    assert (
        _post(client, "/api/v1/reviews", {"held_on": "2021-08-02", "title": "x"}, who="reporter").status_code
        == 403
    )
    refused = _post(
        client, f"/api/v1/reviews/{review['id']}/problems", {"title": "x", "unit": "商务局"}, "reporter"
    )
    assert refused.status_code == 403
    assert _count(client.application, WorkItem) == 0


def test_no_reviews_yet(client):
    assert client.get("/api/v1/reviews", headers=auth("commander")).get_json() == {
        "reviews": [],
        "total": 0,
        "limit": 100,
        "offset": 0,
    }
    assert "尚未记录周观摩" in client.get("/reviews", headers=auth("reporter")).get_data(as_text=True)
    for bad in ("limit=0", "limit=abc", "offset=-1"):
        refused = client.get(f"/api/v1/reviews?{bad}", headers=auth("reporter"))
        assert refused.status_code == 400 and refused.get_json()["error"]["message"], bad
    review = _review(client)
    page = client.get(f"/reviews/{review['id']}", headers=auth("reporter")).get_data(as_text=True)
    assert "本次观摩尚未交办问题" in page and "本次观摩未记录点位" in page
    assert client.get("/api/v1/reviews/999", headers=auth("reporter")).status_code == 404


def test_a_review_through_the_page_form(app, client):
    site = new_site(client)["properties"]
    browser = signed_in(app, "commander")
    token = csrf_token(browser.get("/reviews").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "held_on": "2021-08-09",
        "title": "第二周观摩",
        "site_ids": str(site["id"]),
        "participants": "王五、赵六",
        "note": "重点看主干道",
    }
    made = browser.post("/reviews", data=form)
    assert made.status_code == 303
    page = browser.get(made.headers["Location"]).get_data(as_text=True)
    assert "第二周观摩" in page and "王五、赵六" in page and site["key"] in page
    assert f'href="/sites/{site["id"]}"' in page
    with db(app) as session:
        review = session.scalars(select(Review)).one()
        assert review.held_on == "2021-08-09" and review.participants == ["王五", "赵六"]
        assert review.site_ids == [site["id"]]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "title"),
        ("held_on", "2021-13-01", "2021-13-01"),
        ("held_on", "1999-01-01", "1999-01-01"),
        ("site_ids", "12, abc", "site_ids"),
        ("site_ids", "987654", "987654"),
    ],
)
def test_bad_review_input_is_a_4xx_with_a_message_and_stores_nothing(app, client, field, value, message):
    browser = signed_in(app, "commander")
    token = csrf_token(browser.get("/reviews").get_data(as_text=True))
    form = {"csrf_token": token, "held_on": "2021-08-09", "title": "观摩", field: value}
    response = browser.post("/reviews", data=form)
    assert 400 <= response.status_code < 500
    page = response.get_data(as_text=True)
    assert message in page and 'role="alert"' in page
    api = _post(client, "/api/v1/reviews", {"held_on": "2021-08-09", "title": "观摩", field: value})
    assert 400 <= api.status_code < 500 and api.get_json()["error"]["message"]
    assert _count(app, Review) == 0


def test_a_problem_becomes_a_work_order_in_one_step_from_the_page(app, client):
    site = new_site(client)["properties"]
    review = _review(client, site_ids=[site["id"]])
    browser = signed_in(app, "commander")
    page = browser.get(f"/reviews/{review['id']}").get_data(as_text=True)
    key = page.split('name="form_key" value="')[1].split('"')[0]
    form = {
        "csrf_token": csrf_token(page),
        "form_key": key,
        "title": "围挡不规范",
        "unit": "fengyang",
        "severity": "major",
        "site_ids": str(site["id"]),
    }
    first = browser.post(f"/reviews/{review['id']}/problems", data=form)
    again = browser.post(f"/reviews/{review['id']}/problems", data=form)  # a double submission
    assert first.status_code == again.status_code == 303
    with db(app) as session:
        item = session.scalars(select(WorkItem)).one()
        assert (item.category, item.review_id, item.responsible_unit, item.severity) == (
            "review_problem",
            review["id"],
            "fengyang",
            "major",
        )
        assert item.site_id == site["id"]
    page = browser.get(f"/reviews/{review['id']}").get_data(as_text=True)
    assert f'href="/work-items/{item.id}"' in page and "围挡不规范" in page and "枫杨办事处" in page
    # a bad unit: a 4xx with the message on the page, no order
    form = {**form, "form_key": uuid.uuid4().hex, "unit": "没有这个单位"}
    refused = browser.post(f"/reviews/{review['id']}/problems", data=form)
    assert 400 <= refused.status_code < 500 and "没有这个单位" in refused.get_data(as_text=True)
    assert _count(app, WorkItem) == 1


def test_the_api_hands_out_a_problem_once_per_key(app, client):
    review = _review(client)
    key = uuid.uuid4().hex
    body = {"title": "排水口堵塞", "unit": "城市管理局", "description": "请清理"}
    first = _post(client, f"/api/v1/reviews/{review['id']}/problems", body, key=key)
    replay = _post(client, f"/api/v1/reviews/{review['id']}/problems", body, key=key)
    assert first.status_code == 201 and replay.status_code == 201
    assert first.get_json()["id"] == replay.get_json()["id"]
    item = first.get_json()
    assert item["category"] == "review_problem" and item["category_label"] == "周观摩问题"
    assert item["review_id"] == review["id"] and item["status"] == "open"
    assert _count(app, WorkItem) == 1
    assert _post(client, "/api/v1/reviews/4242/problems", body).status_code == 404
    bad = _post(client, f"/api/v1/reviews/{review['id']}/problems", {"title": "x", "unit": "火星局"})
    assert bad.status_code == 400 and "火星局" in bad.get_json()["error"]["message"]
    early = {**body, "valid_at": "2021-08-01T10:00:00+08:00"}
    assert _post(client, f"/api/v1/reviews/{review['id']}/problems", early).status_code == 400
    assert _count(app, WorkItem) == 1


def test_what_became_of_each_problem_a_week_later_and_now(app, client):
    review = _review(client)  # held on 2 August: looked at again at 10 August 00:00
    quick = _problem(client, review["id"], "及时整改的问题")
    slow = _problem(client, review["id"], "拖延的问题")
    with db(app) as session:
        for item, day in ((quick, "2021-08-05T16:00:00+08:00"), (slow, "2021-08-20T09:00:00+08:00")):
            workitems.advance_work_item(
                session, item["id"], action="work_item_resolve", actor="测试", valid_at=parse_instant(day)
            )
            session.commit()
    data = client.get(f"/api/v1/reviews/{review['id']}", headers=auth("reporter")).get_json()
    assert data["follow_up_at"] == "2021-08-10T00:00:00+08:00"
    by_title = {p["title"]: p for p in data["problems"]}
    assert by_title["及时整改的问题"]["week_later"]["status_label"] == "已办结"
    assert by_title["及时整改的问题"]["week_later"]["overdue"] is False
    # resolve due 9 August 10:00 (7 days): a week later it was still open and overdue; now it is resolved
    assert by_title["拖延的问题"]["week_later"]["status"] == "open"
    assert by_title["拖延的问题"]["week_later"]["overdue"] is True
    assert by_title["拖延的问题"]["now"]["status_label"] == "已办结"
    assert by_title["拖延的问题"]["now"]["overdue"] is False
    page = client.get(f"/reviews/{review['id']}", headers=auth("reporter")).get_data(as_text=True)
    row = page[page.index("拖延的问题") :].split("</tr>")[0]
    assert "已交办" in row and "超期" in row and "已办结" in row
    listed = client.get("/api/v1/reviews", headers=auth("reporter")).get_json()["reviews"]
    assert listed[0]["problems"] == 2


def test_a_review_in_the_current_week_has_nothing_a_week_later_yet(client):
    from recovery.timeutil import local_day, now

    review = _review(client, held_on=local_day(now()).isoformat())
    made = _post(
        client, f"/api/v1/reviews/{review['id']}/problems", {"title": "今天发现的问题", "unit": "商务局"}
    )
    assert made.status_code == 201, made.get_json()
    data = client.get(f"/api/v1/reviews/{review['id']}", headers=auth("commander")).get_json()
    assert data["problems"][0]["week_later"] is None
    assert data["problems"][0]["now"]["status"] == "open"
    page = client.get(f"/reviews/{review['id']}", headers=auth("commander")).get_data(as_text=True)
    assert "尚未到" in page
