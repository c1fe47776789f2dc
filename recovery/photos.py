"""Uploaded photos: resumable chunked uploads, checked by their content, re-encoded, stored once by SHA-256.

Every photo is decoded and written anew (`reencode`) before it is stored: what is served is only pixels that
Pillow decoded, never the uploaded bytes, so a JPEG with HTML or a script appended, or metadata carrying
markup, cannot come back out. Metadata is dropped (EXIF with its GPS position and camera details, XMP,
comments): the app reads none of it, as positions come from the phone's GPS with the update. The EXIF
orientation is applied to the pixels first, so a photo taken upright stays upright.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.db.engine import begin_write
from recovery.errors import NotFoundError, ValidationError
from recovery.models_accounts import Photo
from recovery.numbers import MAX_INT
from recovery.timeutil import now

#: sniffed type -> (content type, file extension, the formats Pillow may report for it); phones' JPEGs with
#: several pictures in them (depth maps, previews) open as MPO.
IMAGE_TYPES = {
    "image/jpeg": ("jpg", frozenset({"JPEG", "MPO"})),
    "image/png": ("png", frozenset({"PNG"})),
    "image/webp": ("webp", frozenset({"WEBP"})),
}
_PILLOW_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
#: how a re-encoded photo is written, by type: JPEG and WebP at quality 90, PNG lossless
_SAVE_OPTIONS = {
    "image/jpeg": {"quality": 90},
    "image/png": {"compress_level": 6},
    "image/webp": {"quality": 90, "method": 4},
}
#: the longest side a stored photo keeps: a 12-megapixel phone photo (4032 × 3024) is kept whole; larger
#: ones are scaled down, which also bounds the memory a re-encoding takes
MAX_EDGE = 4096
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{8,100}")
_SHA_NAME = re.compile(r"[0-9a-f]{64}\.(jpg|png|webp)")
#: the files of an upload in ``partial/``: its data, state and lock, the re-encoded file and temporary files
_PARTIAL_NAME = re.compile(r"([A-Za-z0-9_-]{8,100})\.(part|json|lock|clean|json\.tmp|clean\.\d+\.tmp)")
_SHARD = re.compile(r"[0-9a-f]{2}")
_THUMB_TMP = re.compile(r"[0-9a-f]{64}\.thumb\d+\.\d+\.tmp")
_READ_SIZE = 1 << 20


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


@dataclass(frozen=True)
class StoredPhoto:
    """A stored photo: `size` is the bytes uploaded (what a resuming client counts), `sha256`, `width` and
    `height` are those of the stored, re-encoded file."""

    path: Path
    sha256: str
    size: int
    content_type: str
    width: int
    height: int


def sniff_image_type(head: bytes) -> str | None:
    """The content type from a file's first bytes (at least 12), whatever its name or Content-Type claims.

    Parameters
    ----------
    head : bytes
        The start of the file.

    Returns
    -------
    str or None
        ``"image/jpeg"``, ``"image/png"``, ``"image/webp"``, or None for anything else (GIF, HEIC, text...).
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_image(path: Path, *, max_pixels: int = 40_000_000) -> ImageInfo:
    """Check that a file is a whole JPEG, PNG or WebP image of at most `max_pixels`, by decoding it.

    Parameters
    ----------
    path : Path
        The file.
    max_pixels : int
        The largest width × height accepted. Images above Pillow's own warning limit (about 89 million
        pixels) are refused whatever this says.

    Returns
    -------
    ImageInfo
        The sniffed content type and the size in pixels.

    Raises
    ------
    recovery.errors.ValidationError
        Not one of the three types, a format that differs from the magic bytes, too many pixels, or a
        damaged or truncated file.
    """
    with open(path, "rb") as f:
        content_type = sniff_image_type(f.read(16))
    if content_type is None:
        raise ValidationError("The file is not a JPEG, PNG or WebP image.")
    _, formats = IMAGE_TYPES[content_type]
    with _bombs_refused(max_pixels):
        # Only the sniffed type's parser runs: a file is never handed to a decoder it did not ask for.
        with Image.open(path, formats=[_PILLOW_FORMAT[content_type]]) as im:
            if im.format not in formats:
                raise ValidationError("The file's content does not match its type.")
            width, height = im.size
            if width * height > max_pixels:
                raise ValidationError(
                    "The image has %(pixels)s pixels, more than the limit of %(limit)s.",
                    pixels=width * height,
                    limit=max_pixels,
                )
            im.verify()  # PNG: every chunk's CRC; other formats: nothing, hence the decoding below
        with Image.open(path, formats=[_PILLOW_FORMAT[content_type]]) as im:
            if content_type == "image/jpeg":
                # Decode at 1/8 scale: the whole file is still read (truncation shows) at 1/64 of the memory.
                im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            im.load()
    return ImageInfo(content_type, width, height)


def reencode(source: Path, target: Path, *, max_pixels: int = 40_000_000) -> ImageInfo:
    """Decode a photo and write its pixels anew to `target`, in the same type, without the uploaded bytes.

    The EXIF orientation is applied to the pixels; every other piece of metadata is dropped except the colour
    profile; images larger than `MAX_EDGE` on a side are scaled down; only the first frame of an animated or
    multi-picture file is kept. `target` is written durably.

    Parameters
    ----------
    source : Path
        A file `check_image` accepted.
    target : Path
        Where to write the new file.
    max_pixels : int
        The largest width × height decoded (the decoding is refused above it, as in `check_image`).

    Returns
    -------
    ImageInfo
        The content type (the source's) and the stored size in pixels.

    Raises
    ------
    recovery.errors.ValidationError
        The file cannot be decoded as an image of its type within the limits.
    """
    with open(source, "rb") as f:
        content_type = sniff_image_type(f.read(16))
    if content_type is None:
        raise ValidationError("The file is not a JPEG, PNG or WebP image.")
    with _bombs_refused(max_pixels):
        with Image.open(source, formats=[_PILLOW_FORMAT[content_type]]) as im:
            if im.width * im.height > max_pixels:
                raise ValidationError(
                    "The image has %(pixels)s pixels, more than the limit of %(limit)s.",
                    pixels=im.width * im.height,
                    limit=max_pixels,
                )
            icc_profile = im.info.get("icc_profile")
            scale = MAX_EDGE / max(im.size)
            if content_type == "image/jpeg" and scale < 1:
                # JPEG decodes at 1/2, 1/4 or 1/8 directly: a large photo never takes its full memory
                im.draft("RGB", (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
            image = ImageOps.exif_transpose(im)  # decodes every pixel: damage shows here
        image.thumbnail((MAX_EDGE, MAX_EDGE))  # only ever shrinks
        image = _savable(image, content_type)
        image.info = {}  # nothing of the upload's metadata (EXIF, XMP, comments, text chunks) goes out
        options = dict(_SAVE_OPTIONS[content_type])
        if icc_profile:
            options["icc_profile"] = icc_profile
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            image.save(f, _PILLOW_FORMAT[content_type], **options)
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, target)
    return ImageInfo(content_type, image.width, image.height)


def _savable(image: Image.Image, content_type: str) -> Image.Image:
    """The image in a mode its type can store, transparency kept where the type has it."""
    if content_type == "image/jpeg":
        if image.mode in ("RGB", "L"):
            return image
        return image.convert("RGB") if image.mode == "CMYK" else _on_white(image)
    if image.mode in ("RGB", "RGBA", "L") and "transparency" not in image.info:
        return image
    return image.convert("RGBA")


@contextmanager
def _bombs_refused(max_pixels: int) -> Iterator[None]:
    """Pillow's decompression-bomb warning and error, and any decoding failure, as a ValidationError.

    The warning is raised as an error only inside this block (pytest and many servers would otherwise
    log or raise it far from here); `warnings.catch_warnings` is process-wide, which is harmless here as
    only Pillow's bomb warning is touched.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValidationError(
            "The image has too many pixels: the limit is %(limit)s.", limit=max_pixels
        ) from None
    except ValidationError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError, Image.UnidentifiedImageError) as exc:
        # Pillow reports damage as OSError ("image file is truncated"), SyntaxError (PNG chunks) or ValueError.
        raise ValidationError(
            "The image is damaged or truncated: %(reason)s.", reason=str(exc)[:120]
        ) from None


class PhotoStore:
    """Photos on disk: partial uploads under ``root/partial/``, finished ones at ``root/ab/abcd….ext``.

    Chunks must arrive in order: `append_chunk` at an offset other than the bytes already received raises a
    `ValidationError` whose ``params["received"]`` tells the client where to resume (also given by
    `received`). Every write is fsync'd before it is acknowledged, and a per-upload lock (``flock``) keeps
    two requests for the same upload from interleaving, across processes. The small ``.json`` and ``.lock``
    files of finished uploads stay in ``partial/`` so that retries get the same answer.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.partial_dir = self.root / "partial"

    # --- uploads ------------------------------------------------------------------------------------------

    def received(self, upload_id: str) -> int:
        """How many bytes of an upload have been received (0 for an upload never started)."""
        part, meta, _ = self._paths(upload_id)
        try:
            return part.stat().st_size
        except FileNotFoundError:
            state = self._read_meta(meta)
            return state["total"] if state.get("stored") else 0

    def append_chunk(self, upload_id: str, offset: int, data: bytes, total: int, max_bytes: int) -> int:
        """Write one chunk of an upload, durably, and return the bytes received so far.

        Parameters
        ----------
        upload_id : str
            The client's id for the upload: 8 to 100 letters, digits, ``-`` or ``_``, new for each photo.
        offset : int
            Where the chunk starts; must equal the bytes already received.
        data : bytes
            The chunk.
        total : int
            The size of the whole file, the same on every chunk.
        max_bytes : int
            The largest file accepted.

        Returns
        -------
        int
            The bytes received, after this chunk. A chunk of an upload already finished (a retry whose answer
            was lost) is acknowledged with `total` and not written again.

        Raises
        ------
        recovery.errors.ValidationError
            A bad id, size or offset (``params["received"]`` then says where to resume), or a file too large.
        """
        part, meta, lock = self._paths(upload_id)
        if isinstance(total, bool) or not isinstance(total, int) or total <= 0:
            raise ValidationError("The upload size must be a positive whole number of bytes.")
        if total > max_bytes:
            raise ValidationError("The photo is larger than %(mb)s MB.", mb=f"{max_bytes / 1048576:g}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValidationError("The chunk offset must be a whole number of bytes, zero or more.")
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        with _locked(lock):
            state = self._read_meta(meta)
            declared = state.get("total")
            if declared is not None and declared != total:
                raise ValidationError(
                    "The declared size changed from %(before)s to %(after)s bytes.",
                    before=declared,
                    after=total,
                )
            if state.get("stored"):
                return total
            fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o640)
            with os.fdopen(fd, "r+b") as f:
                received = os.fstat(f.fileno()).st_size
                if offset != received:
                    raise ValidationError(
                        "The chunk starts at byte %(offset)s but %(received)s bytes have been received.",
                        offset=offset,
                        received=received,
                    )
                if offset + len(data) > total:
                    raise ValidationError(
                        "The chunk goes past the declared size of %(total)s bytes.", total=total
                    )
                if declared is None:
                    write_durably(meta, json.dumps({"total": total}).encode())
                f.seek(offset)
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            return offset + len(data)

    def finish(self, upload_id: str, *, max_pixels: int = 40_000_000) -> StoredPhoto:
        """Check a complete upload and store it by content; the same photo uploaded twice is stored once.

        Calling it again for the same upload (a retry after a lost response) returns the same photo.

        Raises
        ------
        recovery.errors.NotFoundError
            No such upload.
        recovery.errors.ValidationError
            Bytes still missing, or not an acceptable image (the upload is then discarded).
        """
        part, meta, lock = self._paths(upload_id)
        if not self.partial_dir.is_dir():
            raise NotFoundError("No upload %(upload_id)s is in progress.", upload_id=upload_id)
        with _locked(lock):
            state = self._read_meta(meta)
            if state.get("stored") and (self.root / state["stored"]).exists():
                return self._describe(self.root / state["stored"], state["total"], max_pixels)
            if not part.exists():
                raise NotFoundError("No upload %(upload_id)s is in progress.", upload_id=upload_id)
            total, received = state.get("total"), part.stat().st_size
            if total is None or received != total:
                raise ValidationError(
                    "The upload is incomplete: %(received)s of %(total)s bytes received.",
                    received=received,
                    total=total,
                )
            clean = part.with_suffix(".clean")
            try:
                check_image(part, max_pixels=max_pixels)
                info = reencode(part, clean, max_pixels=max_pixels)
            except ValidationError:
                part.unlink()
                clean.unlink(missing_ok=True)
                meta.unlink(missing_ok=True)
                raise
            part.unlink()
            with open(clean, "rb") as f:
                sha256 = _sha256(f)
            ext, _ = IMAGE_TYPES[info.content_type]
            relative = Path(sha256[:2]) / f"{sha256}.{ext}"
            target = self.root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                clean.unlink()  # already stored: content-addressed, so it is the same photo
            else:
                os.replace(clean, target)
                _fsync_dir(target.parent)
            # kept (a few bytes) so that a retried chunk or finish gets the same answer
            write_durably(meta, json.dumps({"total": total, "stored": relative.as_posix()}).encode())
        return StoredPhoto(target, sha256, total, info.content_type, info.width, info.height)

    def thumbnail(self, stored_path: Path, size: int = 320) -> Path:
        """A JPEG of at most `size` × `size` pixels next to a stored photo, made on first request.

        EXIF orientation is applied, so that a phone photo taken upright shows upright.
        """
        photo = self._stored(stored_path)
        thumb = photo.with_name(f"{photo.name.split('.')[0]}.thumb{int(size)}.jpg")
        if thumb.exists():
            return thumb
        with Image.open(photo) as im:
            im.draft("RGB", (size, size))
            image = ImageOps.exif_transpose(im)
            image.thumbnail((size, size))
            if image.mode != "RGB":
                image = _on_white(image)
            tmp = thumb.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as f:
                image.save(f, "JPEG", quality=82)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, thumb)
        _fsync_dir(thumb.parent)
        return thumb

    # --- expiry (`recovery cleanup`) ------------------------------------------------------------------------

    def remove_stale_uploads(self, older_than: float, *, dry_run: bool = False) -> tuple[int, int]:
        """Remove every upload none of whose files (data, state, lock, temporary) changed since `older_than`
        (a POSIX time): an unfinished upload is given up, a finished one has its photo row by then.

        Each upload is removed under its own lock, taken without waiting: an upload a request is writing is
        skipped, and its age is checked again once the lock is held. Only names this store makes are touched;
        another file, a folder or a symbolic link in ``partial/`` is left alone.

        Returns
        -------
        tuple of int
            The uploads removed (or, with `dry_run`, that would be) and their bytes.
        """
        uploads = size = 0
        for upload_id, files in self._partial_files().items():
            if _newest(files) >= older_than:
                continue
            if dry_run:
                uploads, size = uploads + 1, size + sum(st.st_size for st in files.values())
                continue
            removed = self._remove_upload(upload_id, older_than)
            if removed is not None:
                uploads, size = uploads + 1, size + removed
        return uploads, size

    def remove_stale_temp_files(self, older_than: float, *, dry_run: bool = False) -> tuple[int, int]:
        """Remove the temporary files of thumbnails a killed process left beside the stored photos, when older
        than `older_than`; stored photos and thumbnails are never touched. Returns (files, bytes)."""
        count = size = 0
        for folder in _entries(self.root):
            if not (folder.is_dir(follow_symlinks=False) and _SHARD.fullmatch(folder.name)):
                continue
            for entry in _entries(Path(folder.path)):
                if not (entry.is_file(follow_symlinks=False) and _THUMB_TMP.fullmatch(entry.name)):
                    continue
                st = entry.stat(follow_symlinks=False)
                if st.st_mtime >= older_than:
                    continue
                if not dry_run:
                    Path(entry.path).unlink(missing_ok=True)
                count, size = count + 1, size + st.st_size
        return count, size

    def _partial_files(self) -> dict[str, dict[str, os.stat_result]]:
        """The files in ``partial/`` by upload, each with its stat (never following a link)."""
        uploads: dict[str, dict[str, os.stat_result]] = {}
        for entry in _entries(self.partial_dir):
            match = _PARTIAL_NAME.fullmatch(entry.name)
            if match and entry.is_file(follow_symlinks=False):
                uploads.setdefault(match[1], {})[entry.name] = entry.stat(follow_symlinks=False)
        return uploads

    def _remove_upload(self, upload_id: str, older_than: float) -> int | None:
        """Remove one upload's files under its lock; None when it is in use or has changed meanwhile."""
        lock = self.partial_dir / f"{upload_id}.lock"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o640)
        except OSError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            if not _same_file(fd, lock):
                return None
            files = self._partial_files().get(upload_id, {})
            if _newest({k: v for k, v in files.items() if k != lock.name}) >= older_than:
                return None
            for name in files:
                if name != lock.name:
                    (self.partial_dir / name).unlink(missing_ok=True)
            lock.unlink()  # last, while held: see `_locked`
            return sum(st.st_size for st in files.values())
        finally:
            os.close(fd)

    # --- internals ----------------------------------------------------------------------------------------

    def _paths(self, upload_id: Any) -> tuple[Path, Path, Path]:
        """The partial data, the upload's state (declared size, where it was stored) and its lock file."""
        # fullmatch, not ^…$: "$" also matches before a final newline.
        if not isinstance(upload_id, str) or not _UPLOAD_ID.fullmatch(upload_id):
            raise ValidationError("The upload id must be 8 to 100 letters, digits, '-' or '_'.")
        return tuple(self.partial_dir / f"{upload_id}.{suffix}" for suffix in ("part", "json", "lock"))

    def locate(self, recorded: str | Path) -> Path:
        """Where a photo row's file is in this store: rows keep `ab/<sha256>.<ext>`, the place in the store's
        fixed layout (rows written before kept the absolute path of the machine that stored them, whose last two
        parts are that place), so a restore into another photo folder finds every photo."""
        path = Path(recorded)
        return self._stored(Path(path.parent.name) / path.name)

    def _stored(self, stored_path: Path) -> Path:
        """A path that really is a stored photo under root (no traversal, no arbitrary file)."""
        path = Path(stored_path)
        path = (path if path.is_absolute() else self.root / path).resolve()
        root = self.root.resolve()
        if (
            path.parent.parent != root
            or not _SHA_NAME.fullmatch(path.name)
            or path.parent.name != path.name[:2]
        ):
            raise NotFoundError("No stored photo %(name)s.", name=Path(stored_path).name[:80])
        if not path.exists():
            raise NotFoundError("No stored photo %(name)s.", name=path.name)
        return path

    def _describe(self, path: Path, total: int, max_pixels: int) -> StoredPhoto:
        info = check_image(path, max_pixels=max_pixels)
        with open(path, "rb") as f:
            sha256 = _sha256(f)
        return StoredPhoto(path, sha256, total, info.content_type, info.width, info.height)

    @staticmethod
    def _read_meta(meta: Path) -> dict[str, Any]:
        try:
            return json.loads(meta.read_bytes())
        except (FileNotFoundError, ValueError):
            return {}


@contextmanager
def _locked(lock: Path) -> Iterator[None]:
    """An exclusive lock on one upload, across threads and processes.

    `remove_stale_uploads` removes a lock file only while holding it, so a lock taken here counts only when
    the file is still the one at `lock` once held: otherwise it was removed meanwhile and the lock is taken
    again on the new file, so that two requests never hold locks on two different files of the same name.
    """
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _same_file(fd, lock):
                yield
                return
        finally:
            os.close(fd)  # closing releases the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        held, current = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _newest(files: dict[str, os.stat_result]) -> float:
    return max((st.st_mtime for st in files.values()), default=float("-inf"))


def _sha256(f: IO[bytes]) -> str:
    f.seek(0)
    digest = hashlib.sha256()
    while chunk := f.read(_READ_SIZE):
        digest.update(chunk)
    return digest.hexdigest()


def write_durably(path: Path, content: bytes, tmp: Path | None = None) -> None:
    """Write `content` to `path` so that it is whole or absent after a crash: into `tmp` (beside it), fsync'd,
    renamed over `path`, the folder fsync'd."""
    tmp = tmp or path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a new or renamed entry in a folder durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _on_white(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency flattened on white, palette and grey images expanded."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


# -- the photo table: which uploads are finished, whose and of which site -----------------------------------


def upload_of(session: Session, user_id: int, upload_id: str) -> Photo | None:
    """The user's photo stored under `upload_id` (upload ids are the user's own: two phones may pick one)."""
    return session.scalar(select(Photo).where(Photo.user_id == user_id, Photo.upload_id == upload_id))


def finished_photo(session: Session, photo_id: int) -> Photo | None:
    """Photo `photo_id` when it exists and its upload is finished (an id past an INTEGER column's range names
    nothing, rather than overflowing in PostgreSQL)."""
    photo = session.get(Photo, photo_id) if photo_id <= MAX_INT else None
    return photo if photo is not None and photo.complete else None


def site_photos(session: Session, site_id: int) -> list[Photo]:
    """A site's finished photos, in the order they were stored."""
    rows = session.scalars(
        select(Photo).where(Photo.site_id == site_id, Photo.complete.is_(True)).order_by(Photo.id)
    )
    return list(rows)


def unusable_uploads(
    session: Session,
    user_id: int,
    site_id: int | None,
    upload_ids: list[str],
    *,
    work_item_id: int | None = None,
) -> list[str]:
    """Those of `upload_ids` that are not finished uploads of this user's for this site (or this work order)."""
    if not upload_ids:
        return []
    owner = Photo.site_id == site_id if work_item_id is None else Photo.work_item_id == work_item_id
    usable = set(
        session.scalars(
            select(Photo.upload_id).where(
                Photo.user_id == user_id,
                owner,
                Photo.complete.is_(True),
                Photo.upload_id.in_(upload_ids),
            )
        )
    )
    return [u for u in upload_ids if u not in usable]


def add_photo(
    session: Session,
    stored: StoredPhoto,
    *,
    upload_id: str,
    site_id: int | None = None,
    work_item_id: int | None = None,
    user_id: int,
) -> Photo:
    """The row of a finished upload, added to the session (the caller commits). The write lock is taken first
    (SQLite), so that the request's earlier reads do not make its write fail with "database is locked" when
    another connection has written since."""
    begin_write(session)
    photo = Photo(
        upload_id=upload_id,
        site_id=site_id,
        work_item_id=work_item_id,
        user_id=user_id,
        content_type=stored.content_type,
        size=stored.size,
        received=stored.size,
        width=stored.width,
        height=stored.height,
        sha256=stored.sha256,
        path=(
            Path(stored.path.parent.name) / stored.path.name
        ).as_posix(),  # the place in the store (`locate`)
        complete=True,
        created_at=now(),
    )
    session.add(photo)
    return photo
