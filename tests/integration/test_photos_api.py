"""Photo uploads over HTTP: resumable chunks, content checks whatever the name says, limits, serving back."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from support.accounts import auth
from support.photos import jpeg_bytes, put_chunk


def test_chunked_upload_resumes_and_is_served(client, site_id):
    photo = jpeg_bytes()
    upload_id = "phone1-" + uuid.uuid4().hex[:12]
    third = len(photo) // 3
    assert put_chunk(client, site_id, upload_id, photo[:third], 0, len(photo)).get_json()["received"] == third
    # the connection dropped: ask where to resume
    status = client.get(f"/api/v1/sites/{site_id}/photos/{upload_id}", headers=auth("field")).get_json()
    assert status == {"received": third, "complete": False}
    assert (
        put_chunk(client, site_id, upload_id, photo[third : 2 * third], third, len(photo)).status_code == 200
    )
    done = put_chunk(client, site_id, upload_id, photo[2 * third :], 2 * third, len(photo))
    assert done.status_code == 201
    stored = done.get_json()["photo"]
    assert (stored["content_type"], stored["width"], stored["height"]) == ("image/jpeg", 640, 480)
    full = client.get(stored["url"], headers=auth("reporter"))
    assert full.mimetype == "image/jpeg" and Image.open(io.BytesIO(full.data)).size == (640, 480)
    full.close()
    thumb = client.get(stored["thumb_url"], headers=auth("reporter"))
    assert thumb.mimetype == "image/jpeg" and max(Image.open(io.BytesIO(thumb.data)).size) <= 320
    thumb.close()
    site = client.get(f"/api/v1/sites/{site_id}", headers=auth("field")).get_json()
    assert [p["id"] for p in site["properties"]["photos"]] == [stored["id"]]
    # a retry of the last chunk after success is answered, not stored again
    again = put_chunk(client, site_id, upload_id, photo[2 * third :], 2 * third, len(photo))
    assert again.get_json()["photo"]["id"] == stored["id"]


def test_wrong_offset_is_refused(client, site_id):
    photo = jpeg_bytes()
    upload_id = uuid.uuid4().hex
    put_chunk(client, site_id, upload_id, photo[:1000], 0, len(photo))
    response = put_chunk(client, site_id, upload_id, photo[2000:3000], 2000, len(photo))
    assert response.status_code == 400 and response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("text named jpg", b"this is not a photo at all, whatever the name says" * 20, 400),
        ("gif", None, 400),
        ("truncated", jpeg_bytes()[:2000], 400),
        ("absurd pixels", None, 400),
    ],
)
def test_files_that_are_not_photos_are_refused(app, client, site_id, name, data, status):
    if name == "gif":
        buffer = io.BytesIO()
        Image.new("RGB", (10, 10)).save(buffer, "GIF")
        data = buffer.getvalue()
    if name == "absurd pixels":
        buffer = io.BytesIO()
        Image.new("1", (12000, 12000)).save(buffer, "PNG")
        data = buffer.getvalue()
    response = client.post(
        f"/api/v1/sites/{site_id}/photos",
        data=data,
        headers={**auth("field"), "Upload-Id": uuid.uuid4().hex, "Content-Type": "image/jpeg"},
    )
    assert response.status_code == status and response.get_json()["error"]["message"]
    site = client.get(f"/api/v1/sites/{site_id}", headers=auth("field")).get_json()
    assert site["properties"]["photos"] == []


def test_oversized_photo_is_refused(client, site_id, app):
    app.config["RECOVERY"]["MAX_PHOTO_MB"] = 1
    response = put_chunk(client, site_id, uuid.uuid4().hex, b"\xff\xd8\xff" + b"0" * 1000, 0, 3 * 1024 * 1024)
    assert response.status_code in (400, 413) and response.get_json()["error"]["message"]


def test_reporters_cannot_upload_and_scope_applies(client, site_id):
    photo = jpeg_bytes()
    for who, status in (("reporter", 403), ("field_shifo", 403)):
        response = client.post(
            f"/api/v1/sites/{site_id}/photos",
            data=photo,
            headers={**auth(who), "Upload-Id": uuid.uuid4().hex},
        )
        assert response.status_code == status


def test_long_upload_ids_that_differ_only_at_the_end_are_two_uploads(client, site_id):
    """The partial file's name was the id cut to 100 characters: the second upload wrote into the first's."""
    first, second = jpeg_bytes((640, 480)), jpeg_bytes((320, 240))
    ids = ["a" * 99 + "1", "a" * 99 + "2"]
    assert put_chunk(client, site_id, ids[0], first[:500], 0, len(first)).get_json()["received"] == 500
    status = client.get(f"/api/v1/sites/{site_id}/photos/{ids[1]}", headers=auth("field")).get_json()
    assert status == {"received": 0, "complete": False}
    assert put_chunk(client, site_id, ids[1], second[:700], 0, len(second)).get_json()["received"] == 700
    done = [
        put_chunk(client, site_id, ids[0], first[500:], 500, len(first)).get_json()["photo"],
        put_chunk(client, site_id, ids[1], second[700:], 700, len(second)).get_json()["photo"],
    ]
    assert [(p["upload_id"], p["width"]) for p in done] == [(ids[0], 640), (ids[1], 320)]
