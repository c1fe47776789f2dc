"""The reporter's way in: the reports home opens on the latest day with data and picks any day of the window;
a reporter lands there after sign-in; record lists say when and link to the site; publishing goes through a
review; an anonymous reader gets a public page of each publication, from its stored bytes."""

from __future__ import annotations

import json
import re

import pytest
from support.accounts import csrf_token, login

DAY = "2021-07-29"


def _review(client, day: str = DAY) -> tuple[str, str]:
    page = client.get(f"/reports/daily/{day}/publish")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return csrf_token(text), re.search(r'name="version" value="(\d+)"', text).group(1)


def test_home_on_an_empty_database_says_there_is_no_data(client):
    login(client, "reporter")
    page = client.get("/reports/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="no-data"' in text and "暂无数据" in text
    assert 'type="date"' in text
    assert "2021-07-29" not in text


def test_home_opens_on_the_seed_last_day_and_picks_a_day(seeded_client):
    login(seeded_client, "reporter")
    text = seeded_client.get("/reports/").get_data(as_text=True)
    assert 'id="latest-report" href="/reports/daily/2021-08-31"' in text
    picker = re.search(r'<input type="date"[^>]*>', text, re.S).group(0)
    assert 'value="2021-08-31"' in picker and 'min="2021-07-01"' in picker and "max=" in picker
    picked = seeded_client.get("/reports/?day=2021-07-22")
    assert picked.status_code == 302 and picked.headers["Location"].endswith("/reports/daily/2021-07-22")
    for outside in ("2021-06-30", "2099-01-01", "22/07/2021"):
        refused = seeded_client.get(f"/reports/?day={outside}")
        assert refused.status_code == 400, outside
        assert "2021-07-01" in refused.get_data(as_text=True) or "YYYY-MM-DD" in refused.get_data(
            as_text=True
        )
    daily = seeded_client.get("/reports/daily/2021-07-22").get_data(as_text=True)
    assert re.search(r'<input type="date"[^>]*value="2021-07-22"', daily, re.S)


@pytest.mark.parametrize(
    ("user", "lands"), [("reporter", "/reports/"), ("field", "/field/"), ("commander", "/")]
)
def test_each_role_lands_on_its_page(client, user, lands):
    response = login(client, user)
    assert response.status_code == 302
    assert response.headers["Location"] == lands


def test_record_rows_say_when_and_link_to_the_site(seeded_client):
    login(seeded_client, "reporter")
    text = seeded_client.get(f"/reports/daily/{DAY}/records/road_collapse_handled").get_data(as_text=True)
    rows = re.findall(r"<tr><td>\d+</td>.*?</tr>", text, re.S)
    assert len(rows) == 167
    for row in rows:
        assert re.search(rf'href="/map\?site=\d+&amp;date={DAY}"', row), row
        happened = re.search(r'<td class="happened">([^<]*)</td>', row).group(1)
        assert re.fullmatch(r"2021-07-(2\d) \d\d:\d\d", happened), happened
        assert happened <= "2021-07-29 23:59"
        assert "已修复" in row and "restored" not in row
    assert "T" not in re.search(r"<time>([^<]*)</time>", text).group(1)
    silt = seeded_client.get(f"/reports/daily/{DAY}/records/silt_m3").get_data(as_text=True)
    assert re.search(r'<td class="happened">2021-07-\d\d \d\d:\d\d</td>', silt)
    cell = seeded_client.get(f"/reports/daily/{DAY}/table/road_collapse/done?subdistrict=shifo")
    cell_text = cell.get_data(as_text=True)
    assert re.search(r'<td class="happened">2021-07-\d\d \d\d:\d\d</td>', cell_text)
    assert "石佛" in cell_text and ">shifo<" not in cell_text


def test_publishing_goes_through_a_review(seeded_client):
    login(seeded_client, "reporter")
    review = seeded_client.get(f"/reports/daily/{DAY}/publish").get_data(as_text=True)
    assert "塌陷点236个" in review and 'id="confirm-publish"' in review
    token, version = _review(seeded_client)
    assert version == "1"
    # a POST without the confirmation only shows the review again
    again = seeded_client.post(f"/reports/daily/{DAY}/publish", data={"csrf_token": token})
    assert again.status_code == 200 and 'id="confirm-publish"' in again.get_data(as_text=True)
    assert seeded_client.get(f"/reports/daily/{DAY}/published/1.json").status_code == 404
    form = {"csrf_token": token, "version": version, "confirm": "1"}
    assert seeded_client.post(f"/reports/daily/{DAY}/publish", data=form).status_code == 302
    # the same confirmation again (a double click) replays: still one version
    assert seeded_client.post(f"/reports/daily/{DAY}/publish", data=form).status_code == 302
    assert seeded_client.get(f"/reports/daily/{DAY}/published/1.json").status_code == 200
    assert seeded_client.get(f"/reports/daily/{DAY}/published/2.json").status_code == 404
    # a review overtaken by another's publication is refused
    stale = seeded_client.post(f"/reports/daily/{DAY}/publish", data={**form, "version": "3"})
    assert stale.status_code == 412
    assert seeded_client.get(f"/reports/daily/{DAY}/published/3.json").status_code == 404


def test_the_public_page_and_list_for_an_anonymous_reader(seeded_app):
    reporter = seeded_app.test_client()
    login(reporter, "reporter")
    token, version = _review(reporter)
    reporter.post(
        f"/reports/daily/{DAY}/publish", data={"csrf_token": token, "version": version, "confirm": "1"}
    )
    published = json.loads(reporter.get(f"/reports/daily/{DAY}/published/1.json").data)

    anonymous = seeded_app.test_client()
    page = anonymous.get(f"/reports/daily/{DAY}/published/1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert published["bulletin"] in text
    for figure in published["figures"]:
        assert figure["definition"]["text"] in text
    assert '<span class="value">167</span>' in text
    assert text.count('class="chart"') >= 3 or text.count("<svg") >= 3
    assert "/records/" not in text  # the records need a sign-in; the public page does not link them
    assert "测试reporter" in text and ">reporter<" not in text
    assert anonymous.get("/reports/daily/2021-07-30/published/1").status_code == 404  # a draft day

    listing = anonymous.get("/reports/").get_data(as_text=True)
    assert f'href="/reports/daily/{DAY}/published/1"' in listing
    assert "<td>测试reporter</td>" in listing and "<td>reporter</td>" not in listing
    assert "2021-07-29" not in re.sub(r"/reports/daily/2021-07-29/published/\d+|>2021-07-29<", "", listing)
    assert published["published"]["by"] == "测试reporter"  # the public files name no login either


def test_the_feed_links_each_public_page(seeded_client):
    from datetime import date

    from recovery.reports.publish import publish

    with seeded_client.application.app_context():
        from recovery.db import get_session

        publish(get_session(), date.fromisoformat(DAY), "reporter", shown_as="测试reporter")
    feed = seeded_client.get("/reports/feed.atom").get_data(as_text=True)
    assert re.search(rf'type="text/html" href="[^"]*/reports/daily/{DAY}/published/1"', feed)
    assert seeded_client.get(f"/reports/daily/{DAY}/published/1").status_code == 200
