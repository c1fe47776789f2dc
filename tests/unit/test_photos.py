"""Photos: content sniffing, safe decoding, resumable chunked uploads, content-addressed storage, thumbnails."""

from __future__ import annotations

import hashlib
import os
import struct
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import Image
from support.photos import MB, image_bytes, stored_files, upload

from recovery.errors import NotFoundError, ValidationError
from recovery.photos import PhotoStore, check_image, sniff_image_type


def blank_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of any size, written by hand so that no test allocates the pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def store(tmp_path: Path) -> PhotoStore:
    return PhotoStore(tmp_path / "photos")


# --- sniffing and checking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a RIFF that is not WebP
        (b"GIF89a\x01\x00\x01\x00", None),
        (b"\x89PNG\r\n", None),  # too short to be sure
        (b"<html><body>", None),
        (b"", None),
    ],
)
def test_sniff_image_type(head, expected):
    assert sniff_image_type(head) == expected


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_check_image_accepts_the_three_types(tmp_path, fmt, content_type):
    path = tmp_path / "photo.bin"
    path.write_bytes(image_bytes(fmt))
    assert sniff_image_type(path.read_bytes()[:16]) == content_type
    info = check_image(path)
    assert (info.content_type, info.width, info.height) == (content_type, 640, 480)


def test_a_png_named_jpg_is_a_png(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes("PNG"))
    assert check_image(path).content_type == "image/png"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(b"this is not a photo\n" * 20, "not a JPEG, PNG or WebP", id="text-named-jpg"),
        pytest.param(image_bytes("GIF", (64, 64), "L"), "not a JPEG, PNG or WebP", id="gif"),
        pytest.param(image_bytes("JPEG")[:9000], "damaged or truncated", id="truncated-jpeg"),
        pytest.param(image_bytes("PNG")[:-200], "damaged or truncated", id="truncated-png"),
        pytest.param(b"\xff\xd8\xff" + b"\x00" * 500, "damaged or truncated", id="jpeg-magic-then-garbage"),
        pytest.param(b"RIFF\x00\x00\x00\x00WEBP" + b"\x00" * 100, "damaged or truncated", id="webp-garbage"),
    ],
)
def test_check_image_refuses(tmp_path, content, fragment):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=fragment):
        check_image(path)


def test_a_decompression_bomb_is_refused_without_a_warning_escaping(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(blank_png(10_000, 10_000))  # 100 million pixels in a few kilobytes
    assert path.stat().st_size < 100_000
    global_limit = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValidationError, match="too many pixels") as raised:
            check_image(path)
    assert caught == []
    assert raised.value.http_status == 400
    assert global_limit == Image.MAX_IMAGE_PIXELS  # the global setting is left alone


def test_the_local_pixel_limit_applies_below_pillows_own(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(blank_png(7_000, 7_000))  # 49 million: under Pillow's warning limit, over ours
    with pytest.raises(ValidationError, match="more than the limit"):
        check_image(path)
    small = tmp_path / "small.png"
    small.write_bytes(blank_png(300, 200))
    assert check_image(small, max_pixels=60_000).width == 300
    with pytest.raises(ValidationError):
        check_image(small, max_pixels=59_999)


# --- uploads ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "ext", "content_type"),
    [("JPEG", "jpg", "image/jpeg"), ("PNG", "png", "image/png"), ("WEBP", "webp", "image/webp")],
)
def test_upload_in_three_chunks_is_stored_by_content(store, fmt, ext, content_type):
    data = image_bytes(fmt)
    photo = upload(store, "upload-0001", data)
    sha = hashlib.sha256(photo.path.read_bytes()).hexdigest()  # the stored (re-encoded) file's
    assert photo.sha256 == sha
    assert photo.path == store.root / sha[:2] / f"{sha}.{ext}"
    assert sniff_image_type(photo.path.read_bytes()[:16]) == content_type
    assert (photo.size, photo.content_type, photo.width, photo.height) == (len(data), content_type, 640, 480)
    assert list(store.partial_dir.glob("*.part")) == []


def test_resume_after_a_lost_chunk(store):
    data = image_bytes("JPEG")
    third = -(-len(data) // 3)
    chunks = [data[i : i + third] for i in range(0, len(data), third)]
    uid = "resumable_42"
    assert store.append_chunk(uid, 0, chunks[0], len(data), 10 * MB) == len(chunks[0])
    # chunk 2 is lost on the way; chunk 3 arrives and is refused, saying where to resume
    with pytest.raises(ValidationError, match="has been received|have been received") as caught:
        store.append_chunk(uid, len(chunks[0]) + len(chunks[1]), chunks[2], len(data), 10 * MB)
    assert caught.value.params["received"] == len(chunks[0])
    assert store.received(uid) == len(chunks[0])
    store.append_chunk(uid, len(chunks[0]), chunks[1], len(data), 10 * MB)
    # the answer to chunk 2 is lost and the client sends it again: refused, nothing written twice
    with pytest.raises(ValidationError) as caught:
        store.append_chunk(uid, len(chunks[0]), chunks[1], len(data), 10 * MB)
    assert caught.value.params["received"] == len(chunks[0]) + len(chunks[1])
    assert store.append_chunk(uid, store.received(uid), chunks[2], len(data), 10 * MB) == len(data)
    assert store.finish(uid).size == len(data)


def test_received_of_an_upload_never_started_is_zero(store):
    assert store.received("never-started") == 0


@pytest.mark.parametrize("offset", [5, -1, True, 1.0, None])
def test_wrong_offset_is_refused(store, offset):
    with pytest.raises(ValidationError):
        store.append_chunk("upload-0002", offset, b"\xff\xd8\xff", 100, MB)
    assert store.received("upload-0002") == 0


def test_oversized_total_is_refused_before_anything_is_written(store):
    with pytest.raises(ValidationError, match="larger than 10 MB"):
        store.append_chunk("upload-0003", 0, b"\xff\xd8\xff", 10 * MB + 1, 10 * MB)
    assert not store.partial_dir.exists() or not any(store.partial_dir.iterdir())


def test_chunks_must_agree_on_the_total_and_stay_inside_it(store):
    store.append_chunk("upload-0004", 0, b"a" * 10, 20, MB)
    with pytest.raises(ValidationError, match="declared size changed"):
        store.append_chunk("upload-0004", 10, b"a" * 10, 30, MB)
    with pytest.raises(ValidationError, match="goes past"):
        store.append_chunk("upload-0004", 10, b"a" * 11, 20, MB)
    with pytest.raises(ValidationError, match="positive whole number"):
        store.append_chunk("upload-0005", 0, b"a", 0, MB)


def test_finish_needs_every_byte(store):
    data = image_bytes("PNG")
    store.append_chunk("upload-0006", 0, data[:100], len(data), MB)
    with pytest.raises(ValidationError, match="incomplete: 100 of"):
        store.finish("upload-0006")
    with pytest.raises(NotFoundError):
        store.finish("no-such-upload")


def test_a_refused_file_is_discarded(store):
    with pytest.raises(ValidationError, match="not a JPEG, PNG or WebP"):
        upload(store, "upload-0007", image_bytes("GIF", (64, 64), "L"))
    assert stored_files(store) == []
    assert [p.name for p in store.partial_dir.iterdir()] == ["upload-0007.lock"]
    assert store.received("upload-0007") == 0  # the client starts again


def test_the_same_photo_uploaded_twice_is_stored_once(store):
    data = image_bytes("JPEG")
    first = upload(store, "first-upload", data)
    second = upload(store, "second-upload", data, chunks=2)
    assert first == second
    assert stored_files(store) == [first.path]
    assert list(store.partial_dir.glob("*.part")) == []


def test_retries_after_finish_get_the_same_answer(store):
    data = image_bytes("PNG")
    photo = upload(store, "retry-finish", data)
    assert store.finish("retry-finish") == photo
    assert store.received("retry-finish") == len(data)
    # the last chunk again (its answer was lost before the client called finish): acknowledged, not rewritten
    assert store.append_chunk("retry-finish", len(data) - 10, data[-10:], len(data), MB) == len(data)
    assert stored_files(store) == [photo.path]


@pytest.mark.parametrize(
    "upload_id",
    [
        "../../etc/passwd",
        "../photos-x",
        "abc",
        "a" * 101,
        "abcdefgh\n",
        "abc/defgh",
        "abc\\defgh",
        "",
        None,
        12345678,
    ],
)
def test_bad_upload_ids_are_refused(store, tmp_path, upload_id):
    with pytest.raises(ValidationError, match="upload id"):
        store.append_chunk(upload_id, 0, b"\xff\xd8\xff", 3, MB)
    with pytest.raises(ValidationError, match="upload id"):
        store.received(upload_id)
    with pytest.raises(ValidationError, match="upload id"):
        store.finish(upload_id)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_chunks_are_fsynced_before_they_are_acknowledged(store, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    store.append_chunk("durable-01", 0, b"\xff\xd8\xff", 10, MB)
    assert synced


# --- thumbnails ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "size", "mode"),
    [
        ("JPEG", (1600, 1200), "RGB"),
        ("PNG", (500, 900), "RGBA"),
        ("WEBP", (200, 100), "RGB"),
        ("PNG", (640, 480), "P"),
    ],
)
def test_thumbnail_is_a_small_jpeg_made_once(store, fmt, size, mode):
    photo = upload(store, "thumb-upload", image_bytes(fmt, size, mode))
    thumb = store.thumbnail(photo.path)
    assert thumb.parent == photo.path.parent
    with Image.open(thumb) as im:
        assert im.format == "JPEG"
        assert max(im.size) <= 320
        assert im.size[0] / im.size[1] == pytest.approx(size[0] / size[1], rel=0.02)
    made = thumb.stat().st_mtime_ns
    assert store.thumbnail(photo.path) == thumb
    assert thumb.stat().st_mtime_ns == made
    assert store.thumbnail(photo.path.relative_to(store.root)) == thumb


def test_thumbnail_follows_the_exif_orientation(store):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: the camera was held upright
    photo = upload(store, "portrait-1", image_bytes("JPEG", (800, 400), exif=exif))
    with Image.open(store.thumbnail(photo.path)) as im:
        assert im.size == (160, 320)


@pytest.mark.parametrize("path", ["../../etc/passwd", "x.jpg", "ab/abcd.jpg"])
def test_thumbnail_only_of_stored_photos(store, tmp_path, path):
    with pytest.raises(NotFoundError):
        store.thumbnail(Path(path))
    with pytest.raises(NotFoundError):
        store.thumbnail(tmp_path / path)


def test_concurrent_copies_of_a_chunk_are_written_once(store):
    from concurrent.futures import ThreadPoolExecutor

    data = image_bytes("PNG")

    def send(_):
        try:
            return store.append_chunk("racing-01", 0, data, len(data), MB)
        except ValidationError as exc:
            return exc.params["received"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert answers == [len(data)] * 8
    assert store.received("racing-01") == len(data)
    photo = store.finish("racing-01")
    assert photo.size == len(data) and (photo.width, photo.height) == (640, 480)
