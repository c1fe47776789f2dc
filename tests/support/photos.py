"""Pictures as the photo tests need them, and uploads: in chunks over HTTP, or straight into a PhotoStore."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from recovery.photos import PhotoStore
from support.accounts import auth

MB = 1024 * 1024


def jpeg_bytes(size=(640, 480)) -> bytes:
    """A plain JPEG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def image_bytes(fmt: str, size: tuple[int, int] = (640, 480), mode: str = "RGB", **save: object) -> bytes:
    """A noisy picture (noise so that JPEG and PNG data are not trivially small) in the given format."""
    image = Image.effect_noise(size, 60).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def put_chunk(client, site_id, upload_id, data, start, total, who="field"):
    """PUT one chunk of a resumable photo upload, bytes `start` … of `total`."""
    end = start + len(data) - 1
    return client.put(
        f"/api/v1/sites/{site_id}/photos/{upload_id}",
        data=data,
        headers={
            **auth(who),
            "Content-Range": f"bytes {start}-{end}/{total}",
            "Content-Type": "application/octet-stream",
        },
    )


def upload(store: PhotoStore, upload_id: str, data: bytes, chunks: int = 3, max_bytes: int = 10 * MB):
    """Upload `data` into `store` in `chunks` chunks and finish it."""
    step = -(-len(data) // chunks)
    for offset in range(0, len(data), step):
        store.append_chunk(upload_id, offset, data[offset : offset + step], len(data), max_bytes)
    return store.finish(upload_id)


def stored_files(store: PhotoStore) -> list[Path]:
    """Every file the store keeps, but the partial uploads."""
    return sorted(p for p in store.root.rglob("*") if p.is_file() and "partial" not in p.parts)
