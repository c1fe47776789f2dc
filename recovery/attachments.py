"""Attachments of work orders (附件): the documents an order comes with or is answered with — a meeting's minutes,
a unit's written report, a signed acceptance form — as PDF or Office files, checked by their content.

Photos are not attachments: they go through `recovery.photos`, which re-encodes them. A document is kept as it
was uploaded, so only types that a browser will not run are taken (PDF; Word, Excel and PowerPoint in their OOXML
form, which are ZIP files with a `[Content_Types].xml`), recognised by their bytes, never by the name or the
declared type, and always served as a download (`Content-Disposition: attachment`, `nosniff`).

Files are stored once by SHA-256 under the photo folder's `attachments/` (so a backup takes them with the photos),
written durably before their row is committed; the same file attached to the same order twice is one attachment
(a retried upload answers with the first).
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import unicodedata
import zipfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.db.engine import begin_write
from recovery.errors import ValidationError
from recovery.models_accounts import Attachment
from recovery.photos import write_durably
from recovery.timeutil import now
from recovery.writers.xlsx import MEDIA_TYPE as XLSX

#: content type -> (extension, what it is called in messages)
TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    XLSX: "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}
#: the OOXML part that names a document's kind, by content type
_OOXML_MAIN = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": XLSX,
    "ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
#: a file's name as shown and offered for download: at most this many characters
NAME_MAX = Attachment.__table__.c.name.type.length
#: at most this many attachments per order
MAX_PER_ORDER = 50
FOLDER = "attachments"


def sniff(data: bytes) -> str | None:
    """The content type of a document by its bytes, or None when it is not one that is taken."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "[Content_Types].xml" not in names:
            return None
        for part, content_type in _OOXML_MAIN.items():
            if part in names:
                return content_type
    return None


def clean_name(raw: str | None, content_type: str) -> str:
    """A file name safe to show and to offer for download: no folders, no control characters, the type's own
    extension; the name is kept in whatever script it was written (Chinese names stay Chinese)."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    extension = TYPES[content_type]
    stem = name[: -len(extension) - 1] if name.lower().endswith(f".{extension}") else name
    stem = stem[: NAME_MAX - len(extension) - 1] or "附件"
    return f"{stem}.{extension}"


def attach(
    session: Session,
    root: Path,
    *,
    work_item_id: int,
    data: bytes,
    name: str | None,
    user_id: int,
) -> tuple[Attachment, bool]:
    """Store a document for an order (not committed): (the attachment, whether it is new). Refuses an empty file,
    a type that is not taken, and an order that has its fill already."""
    if not data:
        raise ValidationError("The file is empty.")
    content_type = sniff(data)
    if content_type is None:
        raise ValidationError("Attach a PDF, Word, Excel or PowerPoint file (.pdf, .docx, .xlsx, .pptx).")
    digest = hashlib.sha256(data).hexdigest()
    begin_write(session)  # the count and the duplicate check below see every committed attachment
    same = session.scalar(
        select(Attachment).where(Attachment.work_item_id == work_item_id, Attachment.sha256 == digest)
    )
    if same is not None:
        return same, False
    count = len(session.scalars(select(Attachment.id).where(Attachment.work_item_id == work_item_id)).all())
    if count >= MAX_PER_ORDER:
        raise ValidationError("An order takes at most %(count)s attachments.", count=MAX_PER_ORDER)
    path = _store(Path(root), digest, TYPES[content_type], data)
    row = Attachment(
        work_item_id=work_item_id,
        user_id=user_id,
        name=clean_name(name, content_type),
        content_type=content_type,
        size=len(data),
        sha256=digest,
        path=str(path.relative_to(root)),
        created_at=now(),
    )
    session.add(row)
    return row, True


def find(session: Session, work_item_id: int, attachment_id: int) -> Attachment | None:
    """The order's attachment of that id (None for another order's: ids are not guessed across orders)."""
    row = session.get(Attachment, attachment_id)
    return row if row is not None and row.work_item_id == work_item_id else None


def of_order(session: Session, work_item_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment).where(Attachment.work_item_id == work_item_id).order_by(Attachment.id)
        )
    )


def file_of(root: Path, attachment: Attachment) -> Path:
    """The stored file (its path is kept relative to the photo folder, so a restore elsewhere finds it)."""
    return Path(root) / attachment.path


def _store(root: Path, digest: str, extension: str, data: bytes) -> Path:
    target = root / FOLDER / digest[:2] / f"{digest}.{extension}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # a temporary name per process: two uploads of the same file at once never write into one file
    write_durably(
        target, data, tmp=target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    )
    return target
