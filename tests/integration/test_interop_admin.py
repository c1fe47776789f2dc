"""The admin's import page: upload, a preview with the first rows and the report (nothing stored), confirm, stored;
only admins; the forms need their CSRF token; a request that is not the form gets a clear 400, never a 500."""

from __future__ import annotations

import io
import re

from support.accounts import auth, csrf_token, login
from support.databases import app_fingerprint
from support.sites import site_keys

CSV = (
    "编号,名称,地址,经度,纬度,状态,道路等级\n"
    "RC-T1,科学大道塌陷,郑州市高新区,113.565305,34.880557,已上报,main\n"
    "RC-T2,长椿路塌陷,郑州市高新区,113.560000,34.860000,已上报,branch\n"
)
BAD_ROW = "RC-T3,坏点,郑州市高新区,34.86,113.56,已上报,main\n"  # latitude and longitude swapped


def _upload(client, text: str, **fields):
    token = csrf_token(client.get("/admin/import").get_data(as_text=True))
    data = {"csrf_token": token, "kind": "road_collapse", "file": (io.BytesIO(text.encode()), "台账.csv")}
    return client.post("/admin/import", data=data | fields, content_type="multipart/form-data")


def test_upload_preview_then_confirm_stores(app, client):
    login(client, "admin")
    before = app_fingerprint(app)
    response = _upload(client, CSV)
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "科学大道塌陷" in page and "长椿路塌陷" in page  # the first rows
    assert re.search(r'data-outcome="new"><th>[^<]+</th><td>2</td>', page)  # the report
    assert 'id="import-rejects"' not in page
    assert app_fingerprint(app) == before  # nothing stored by the upload or the preview

    response = client.post(preview_url, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200
    assert 'id="import-result"' in response.get_data(as_text=True)
    assert {"RC-T1", "RC-T2"} <= site_keys(app)
    assert app_fingerprint(app) != before


def test_rejected_rows_are_listed_and_nothing_can_be_stored(app, client):
    login(client, "admin")
    before = app_fingerprint(app)
    preview_url = _upload(client, CSV + BAD_ROW).headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert 'id="import-rejects"' in page and "RC-T3" in page
    assert "Confirm and store" not in page and "确认" not in page.split('id="import-rejects"')[1]
    response = client.post(
        preview_url, data={"csrf_token": csrf_token(client.get("/admin/import").get_data(True))}
    )
    assert response.status_code == 400
    assert app_fingerprint(app) == before


def test_skip_invalid_stores_the_valid_rows(app, client):
    login(client, "admin")
    preview_url = _upload(client, CSV + BAD_ROW, skip_invalid="y").headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert client.post(preview_url, data={"csrf_token": csrf_token(page)}).status_code == 200
    keys = site_keys(app)
    assert {"RC-T1", "RC-T2"} <= keys and "RC-T3" not in keys


def test_forms_need_their_csrf_token(app, client):
    login(client, "admin")
    before = app_fingerprint(app)
    data = {"kind": "road_collapse", "file": (io.BytesIO(CSV.encode()), "sites.csv")}
    response = client.post("/admin/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    preview_url = _upload(client, CSV).headers["Location"]
    assert client.post(preview_url, data={}).status_code == 400
    assert client.post(preview_url, data={"csrf_token": "forged"}).status_code == 400
    assert app_fingerprint(app) == before


def test_only_admins(app, client):
    login(client, "commander")
    assert client.get("/admin/import").status_code == 403
    response = client.post("/admin/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 403
    assert client.get("/admin/import", headers=auth("reporter")).status_code == 403


def test_a_request_that_is_not_the_form_is_a_clear_400(app, client):
    response = client.post("/admin/import", json={}, headers=auth("admin"))
    assert response.status_code == 400
    response = client.post("/admin/import/" + "0" * 32, json={}, headers=auth("admin"))
    assert response.status_code in (400, 404)  # no CSRF token, or no such upload
    login(client, "admin")
    token = csrf_token(client.get("/admin/import").get_data(as_text=True))
    data = {"csrf_token": token, "file": (io.BytesIO(b"x"), "notes.docx")}
    response = client.post("/admin/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
