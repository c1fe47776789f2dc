"""The desktop site page `/sites/<id>`: for commanders, reporters and admins only; the site's status by its label,
its deadline and team, every change (who, when it happened, when it was recorded, note) with the photos of that
change, its work orders with links to them, and the 督办 form for those who may issue one."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from support.accounts import auth
from support.photos import jpeg_bytes, put_chunk
from support.sites import new_site, post_event

VIEWERS = ("commander", "reporter", "admin")


def _page(client, site_id, who="commander", **headers):
    return client.get(f"/sites/{site_id}", headers={**auth(who), **headers})


def _upload(client, site_id, who="field") -> str:
    upload_id = f"{who}-{uuid.uuid4().hex}"
    photo = jpeg_bytes()
    assert put_chunk(client, site_id, upload_id, photo, 0, len(photo), who=who).status_code == 201
    return upload_id


@pytest.fixture
def site(client):
    return new_site(client, name="<b>枫杨街</b>塌陷")["properties"]


@pytest.mark.parametrize("who", VIEWERS)
def test_the_page_renders_for_each_viewer(client, site, who):
    response = _page(client, site["id"], who)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert site["key"] in page
    assert "已上报" in page  # the status by its label, Chinese first
    assert "道路塌陷点" in page
    assert "枫杨办事处" in page
    # the name is text, never markup
    assert "<b>枫杨街</b>" not in page and html.escape("<b>枫杨街</b>") in page
    assert f"/map?site={site['id']}" in page
    assert "vendor/leaflet/leaflet.js" in page
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing from another host


@pytest.mark.parametrize("who", ["field", "unit_urban"])
def test_other_roles_are_refused(client, site, who):
    assert _page(client, site["id"], who).status_code == 403


def test_signed_out_readers_are_sent_to_sign_in(client, site):
    response = client.get(f"/sites/{site['id']}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_site_is_a_404_in_the_readers_language(client):
    response = _page(client, 987654)
    assert response.status_code == 404
    assert "987654" in response.get_data(as_text=True)
    assert _page(client, 2**40).status_code == 404


def test_english_is_available(client, site):
    page = client.get(f"/sites/{site['id']}?lang=en", headers=auth("commander")).get_data(as_text=True)
    assert "road collapse" in page and "History" in page and "reported" in page
    assert "道路塌陷点" not in page


def test_history_shows_each_change_with_its_photos(client, site):
    photo = _upload(client, site["id"])
    changed = post_event(
        client,
        site["id"],
        {"status": "secured", "note": "已设围挡", "photos": [photo]},
        version=1,
    )
    assert changed.status_code == 201, changed.get_json()
    loose = _upload(client, site["id"])  # uploaded, never sent with a change
    page = _page(client, site["id"], "reporter").get_data(as_text=True)
    start = page.index('class="wo-timeline sp-history"')
    history = page[start : page.index("</ol>", start)]
    changes = history.split("<li")[1:]
    assert len(changes) == 2  # the report and the change, newest first
    newest = changes[0]
    assert "已上报 → 已围挡" in newest
    assert "已设围挡" in newest
    happened = changed.get_json()["event"]["valid_at"]  # ISO in Asia/Shanghai
    assert f"{happened[:10]} {happened[11:16]}" in newest  # when it happened, to the minute
    assert "+08:00" in happened
    assert "测试field" in newest  # who
    assert newest.count("/api/v1/photos/") >= 2  # the photo of this change (file and thumbnail)
    assert "/api/v1/photos/" not in changes[1]  # the report had none
    others = page[page.index("</ol>", start) :]
    assert "其他照片" in others and others.count("/api/v1/photos/") == 2  # the upload no change names
    assert loose


def test_work_orders_are_listed_with_their_status_and_link(client, site):
    made = client.post(
        "/api/v1/work-items",
        json={
            "category": "supervision",
            "title": "尽快围挡",
            "site_ids": [site["id"]],
            "unit": "城市管理局",
            "severity": "general",
        },
        headers={**auth("commander"), "Idempotency-Key": uuid.uuid4().hex},
    )
    assert made.status_code == 201, made.get_json()
    item = made.get_json()
    page = _page(client, site["id"], "reporter").get_data(as_text=True)
    orders = page[page.index("sp-orders") : page.index("</table>", page.index("sp-orders"))]
    assert f'href="/work-items/{item["id"]}"' in orders
    assert "尽快围挡" in orders and "已交办" in orders and "城市管理局" in orders
    assert item["resolve_due_text"] in orders
    # the step appears in the site's history too, linked to its order
    assert "交办" in page[page.index("sp-history") :]


def test_only_commanders_and_admins_get_the_supervision_form(client, site):
    for who, shown in (("commander", True), ("admin", True), ("reporter", False)):
        page = _page(client, site["id"], who).get_data(as_text=True)
        assert ('id="new-order"' in page) is shown, who
    page = _page(client, site["id"]).get_data(as_text=True)
    form = page[page.index('id="new-order"') : page.index("</form>", page.index('id="new-order"'))]
    assert 'data-api="/api/v1/work-items"' in form
    assert f'name="site_ids" value="{site["id"]}"' in form
    assert 'name="category" value="supervision"' in form
