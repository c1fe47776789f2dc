"""Pages and the JSON API: figures as the registry computes them, one error shape, no server errors."""

from __future__ import annotations

import pytest
from support.accounts import auth, login
from support.article import ARTICLE, ARTICLE_PARAGRAPH

READER = auth("reporter")


def test_home_shows_the_figures_for_a_chosen_day(seeded_client):
    login(seeded_client, "commander")
    page = seeded_client.get("/?date=2021-07-29")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert ARTICLE_PARAGRAPH in html
    assert 'data-key="composite_restart_rate"' in html and "98.75" in html
    assert "石佛办事处" in html


def test_home_in_english(seeded_client):
    login(seeded_client, "reporter")
    html = seeded_client.get("/?date=2021-07-29&lang=en").get_data(as_text=True)
    assert "composite restart rate" in html and 'lang="en"' in html


def test_api_metrics_and_records(seeded_client):
    data = seeded_client.get("/api/v1/metrics?as_of=2021-07-29", headers=READER).get_json()
    figures = {f["key"]: f for f in data["figures"]}
    assert {k: figures[k]["printed"] for k in ARTICLE} == ARTICLE
    records = seeded_client.get(
        "/api/v1/metrics/road_collapse_handled/records?as_of=2021-07-29", headers=READER
    ).get_json()
    assert records["count"] == 167 and len(records["records"]) == 167
    assert all(r["status"] == "restored" for r in records["records"])
    one_sub = seeded_client.get(
        "/api/v1/metrics?as_of=2021-07-29&subdistrict=shifo", headers=READER
    ).get_json()
    assert {f["key"]: f for f in one_sub["figures"]}["road_collapse_total"]["value"] < 236


def test_api_daily_report_formats(seeded_client):
    text = seeded_client.get("/api/v1/reports/daily/2021-07-29?format=text", headers=READER)
    assert text.status_code == 200 and text.get_data(as_text=True).strip() == ARTICLE_PARAGRAPH
    assert text.mimetype == "text/plain"
    data = seeded_client.get("/api/v1/reports/daily/2021-07-29", headers=READER).get_json()
    assert data["bulletin"] == ARTICLE_PARAGRAPH and set(data["by_subdistrict"]) == {
        "shifo",
        "gouzhao",
        "shuangqiao",
        "fengyang",
        "wutong",
    }


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/metrics?as_of=not-a-date", 400),
        ("/api/v1/metrics?subdistrict=nowhere", 400),
        ("/api/v1/metrics/nope/records", 404),
        ("/api/v1/metrics/road_collapse_total/records?side=both", 400),
        ("/api/v1/reports/daily/2021-13-40", 400),
        ("/api/v1/reports/daily/2021-07-29?format=pdf", 400),
        ("/api/v1/no-such-endpoint", 404),
    ],
)
def test_api_errors_share_one_shape_in_the_callers_language(seeded_client, url, status):
    zh = seeded_client.get(url, headers=READER)
    en = seeded_client.get(url, headers={"Accept-Language": "en", **READER})
    for response in (zh, en):
        body = response.get_json()
        assert response.status_code == status
        assert set(body) == {"error"} and set(body["error"]) == {"code", "status", "message", "request_id"}
        assert body["error"]["status"] == status and body["error"]["message"]
        assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    assert zh.get_json()["error"]["message"] != en.get_json()["error"]["message"]


def test_html_error_page(seeded_client):
    login(seeded_client, "commander")
    page = seeded_client.get("/?date=yesterday")
    assert page.status_code == 400 and "<html" in page.get_data(as_text=True)


def test_pages_are_chinese_first_whatever_the_browser_says(seeded_client):
    login(seeded_client, "commander")
    html = seeded_client.get("/?date=2021-07-29", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert 'lang="zh-CN"' in html and "综合复工率" in html
    chosen = seeded_client.get("/?date=2021-07-29&lang=en")
    assert "lang=en" in chosen.headers.get("Set-Cookie", "")
    html = seeded_client.get("/?date=2021-07-29").get_data(as_text=True)
    assert 'lang="en"' in html


def test_error_messages_name_kinds_and_statuses_by_their_labels(seeded_app):
    from recovery.errors import TransitionError

    error = TransitionError(
        "%(kind)s cannot go from %(from)s to %(to)s.",
        kind="road_collapse",
        **{"from": "restored", "to": "reported"},
    )
    with seeded_app.test_request_context("/"):
        zh = error.translated()
    with seeded_app.test_request_context("/?lang=en"):
        en = error.translated()
    assert "道路塌陷点" in zh and "已修复" in zh and "已上报" in zh and "road_collapse" not in zh
    assert en == "road collapse cannot go from restored to reported."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("2147483647", 2147483647),
        ("1999999999", 1999999999),
        ("2147483648", None),
        ("9999999999", None),
        ("661176179781754552320", None),
        ("0", None),
        ("007", None),
        ("-1", None),
    ],
)
def test_ids_in_urls_match_exactly_the_databases_range(app, raw, expected):
    from werkzeug.exceptions import NotFound

    adapter = app.url_map.bind("localhost")
    # the upload path is served for GET and for PUT/POST by two rules: a refused id is a 404 for both methods
    for method in ("GET", "PUT"):
        if expected is None:
            with pytest.raises(NotFound):
                adapter.match(f"/api/v1/sites/{raw}/photos/abcdefgh", method)
        else:
            _, values = adapter.match(f"/api/v1/sites/{raw}/photos/abcdefgh", method)
            assert values["site_id"] == expected
