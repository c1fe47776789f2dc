"""A user's notices: newest first (all or unread, paged back by id), the unread count, marking them read, and how
one reads in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from recovery.errors import ValidationError
from recovery.notices.formats import note_text, text, work_item_path
from recovery.notices.models import Notice
from recovery.timeutil import now, zone_iso

MAX_PAGE = 200
#: the most ids one call may mark read
MAX_IDS = 1000


def notices(
    session: Session, user_id: int, *, unread: bool = False, limit: int = 50, before_id: int | None = None
) -> list[Notice]:
    stmt = select(Notice).where(Notice.user_id == user_id).order_by(Notice.id.desc())
    if unread:
        stmt = stmt.where(Notice.read_at.is_(None))
    if before_id is not None:
        stmt = stmt.where(Notice.id < before_id)
    return list(session.scalars(stmt.limit(max(1, min(limit, MAX_PAGE)))))


def unread_count(session: Session, user_id: int) -> int:
    """From the (user, read_at) index alone: cheap enough for every page's badge."""
    stmt = select(func.count()).select_from(Notice).where(Notice.user_id == user_id, Notice.read_at.is_(None))
    return int(session.scalar(stmt) or 0)


def read_ids(value: Any) -> list[int]:
    """The ids of a mark-read request: a list of whole numbers."""
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise ValidationError("ids must be a list of notice ids, at most 1000.")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**63:
            raise ValidationError("ids must be a list of notice ids, at most 1000.")
        out.append(item)
    return out


def mark_read(session: Session, user_id: int, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notices read (those of `ids`, or all with None); not committed. Others' ids are ignored.
    How many changed."""
    stmt = (
        update(Notice)
        .where(Notice.user_id == user_id, Notice.read_at.is_(None))
        .values(read_at=now())
        .execution_options(synchronize_session=False)
    )
    if ids is not None:
        ids = list(ids)
        if not ids:
            return 0
        stmt = stmt.where(Notice.id.in_(ids))
    return session.execute(stmt).rowcount or 0


def notice_dict(notice: Notice, locale: str | None) -> dict[str, Any]:
    params = notice.params or {}
    return {
        "id": notice.id,
        "action": notice.action,
        "work_item_id": notice.work_item_id,
        "event_id": notice.event_id,
        "key": params.get("key", ""),
        "title": params.get("title", ""),
        "unit": params.get("unit", ""),
        "text": text(notice.action, params, locale),
        "note": note_text(params, locale),
        "link": work_item_path(notice.work_item_id),
        "created_at": zone_iso(notice.created_at),
        "read": notice.read_at is not None,
        "read_at": zone_iso(notice.read_at),
    }
