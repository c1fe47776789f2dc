"""Photos are re-encoded before they are stored (issue 12, finding 13): what is served is pixels Pillow decoded,
never the uploaded bytes, so HTML appended to a JPEG or hidden in metadata never comes back; EXIF (GPS, camera,
time) is dropped after its orientation is applied; anything Pillow cannot decode stays refused (tests/unit/test_photos.py)."""

from __future__ import annotations

import io
import struct
import uuid
import zlib

import pytest
from PIL import Image, PngImagePlugin
from support.accounts import auth
from support.photos import image_bytes, stored_files, upload

from recovery.photos import MAX_EDGE, PhotoStore

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def store(tmp_path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos")


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0132] = "2021:07:21 09:30:00"  # DateTime
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (34.0, 49.0, 52.0), "E", (113.0, 32.0, 20.0)
    return exif


def png_with_text_chunk() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", HTML.decode())
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>" + HTML.decode() + "</x:xmpmeta>")
    return image_bytes("PNG", pnginfo=info)


def png_chunk_after_iend(data: bytes) -> bytes:
    chunk = b"teXt" + HTML
    return data + struct.pack(">I", len(HTML)) + chunk + struct.pack(">I", zlib.crc32(chunk))


HOSTILE = [
    pytest.param(image_bytes("JPEG") + HTML, id="jpeg-html-appended"),
    pytest.param(image_bytes("JPEG", comment=HTML) + b"\n" + HTML, id="jpeg-comment-and-tail"),
    pytest.param(image_bytes("JPEG", exif=gps_exif()) + HTML, id="jpeg-exif-then-html"),
    pytest.param(png_with_text_chunk(), id="png-text-chunks"),
    pytest.param(image_bytes("PNG") + HTML, id="png-html-after-iend"),
    pytest.param(png_chunk_after_iend(image_bytes("PNG")), id="png-chunk-after-iend"),
    pytest.param(image_bytes("WEBP") + HTML, id="webp-html-appended"),
]


@pytest.mark.parametrize("data", HOSTILE)
def test_markup_in_or_after_a_photo_never_comes_back(store, data):
    assert HTML in data
    photo = upload(store, "hostile-" + uuid.uuid4().hex[:8], data)
    stored = photo.path.read_bytes()
    assert b"<script" not in stored and b"<html" not in stored and b"xmpmeta" not in stored
    with Image.open(photo.path) as im:
        assert im.size == (640, 480)
        im.load()
        assert not im.info.get("comment") and not getattr(im, "text", None)
    assert photo.size == len(data)  # the bytes the client sent, as resuming counts them


def test_exif_is_dropped_after_the_orientation_is_applied(store):
    data = image_bytes("JPEG", (800, 400), exif=gps_exif(orientation=6))
    photo = upload(store, "exif-gps-1", data)
    assert (photo.width, photo.height) == (400, 800)  # turned upright
    with Image.open(photo.path) as im:
        assert im.size == (400, 800)
        assert dict(im.getexif()) == {} and "exif" not in im.info
    assert b"PhoneMaker" not in photo.path.read_bytes()
    with Image.open(store.thumbnail(photo.path)) as thumb:
        assert thumb.size == (160, 320)


def translucent(fmt: str) -> bytes:
    image = Image.effect_noise((320, 200), 60).convert("RGBA")
    image.putalpha(128)
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "fmt", "alpha"),
    [
        (translucent("PNG"), "PNG", True),
        (translucent("WEBP"), "WEBP", True),
        (image_bytes("PNG", (320, 200), "P", transparency=0), "PNG", True),
        (image_bytes("JPEG", (320, 200), "L"), "JPEG", False),
        (image_bytes("JPEG", (320, 200), "CMYK"), "JPEG", False),
    ],
    ids=["png-rgba", "webp-rgba", "png-palette-transparent", "jpeg-grey", "jpeg-cmyk"],
)
def test_the_type_and_transparency_are_kept(store, data, fmt, alpha):
    photo = upload(store, "modes-" + uuid.uuid4().hex[:8], data + HTML)
    assert HTML not in photo.path.read_bytes()
    with Image.open(photo.path) as im:
        assert im.format == fmt and im.size == (320, 200)
        assert ("A" in im.getbands()) == alpha
        if alpha:
            assert im.getextrema()[3][0] < 255  # still see-through


def test_a_photo_larger_than_the_longest_edge_is_scaled_down(store):
    photo = upload(store, "panorama-1", image_bytes("JPEG", (MAX_EDGE * 2, 200)))
    assert (photo.width, photo.height) == (MAX_EDGE, 100)


def test_the_same_photo_is_still_stored_once(store):
    data = image_bytes("JPEG", exif=gps_exif()) + HTML
    first, second = upload(store, "same-photo-1", data), upload(store, "same-photo-2", data, chunks=1)
    assert first.path == second.path and stored_files(store) == [first.path]
    assert HTML not in first.path.read_bytes()


def test_served_photos_are_the_re_encoded_ones(client, site_id):
    data = image_bytes("JPEG", exif=gps_exif()) + HTML
    upload_id = "phone-" + uuid.uuid4().hex[:12]
    response = client.put(
        f"/api/v1/sites/{site_id}/photos/{upload_id}",
        data=data,
        headers={**auth("field"), "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.get_json()
    photo = response.get_json()["photo"]
    served = client.get(photo["url"], headers=auth("commander"))
    assert served.mimetype == "image/jpeg" and served.headers["X-Content-Type-Options"] == "nosniff"
    assert HTML not in served.data and b"PhoneMaker" not in served.data
    assert Image.open(io.BytesIO(served.data)).size == (640, 480)
    served.close()
