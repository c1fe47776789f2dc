"""周观摩 (the weekly on-site review): a review recorded as a visit (day, title, sites visited, participants, note),
its problems handed out as work orders of category `review_problem` in one step, and what became of each problem
a week later (its state as of the end of the day one week after the review) and now."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery import workitems
from recovery.errors import NotFoundError, ValidationError
from recovery.models import Event, Review, Site, WorkItem
from recovery.numbers import MAX_INT, read_whole_number
from recovery.text import clean_text
from recovery.timeutil import end_of_day, now, parse_day

#: the most sites one review may visit, and the most participants it names
MAX_SITES = 200
MAX_PARTICIPANTS = 100
#: a review's problems are looked at again this long after the review's day (the next week's review)
FOLLOW_UP = timedelta(days=7)
_SEPARATORS = re.compile(r"[,，、;；\n]+")


def _participants(raw) -> list[str]:
    """Participants as a list of names, or one text separated by commas, 、 or new lines."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = _SEPARATORS.split(raw)
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise ValidationError("participants must be a list of names.")
    names = [clean_text(p, "participants", 100) for p in raw]
    names = list(dict.fromkeys(n for n in names if n))
    if len(names) > MAX_PARTICIPANTS:
        raise ValidationError("A review names at most %(count)s participants.", count=MAX_PARTICIPANTS)
    return names


def parse_site_ids(raw) -> list[int]:
    """Site ids as a list of whole numbers, or one text of ids separated by commas or spaces."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [p for p in re.split(r"[,，、\s]+", raw) if p]
    if not isinstance(raw, list):
        raise ValidationError("site_ids must be a list of site ids.")
    ids = []
    for value in raw:
        number = read_whole_number(value) if not isinstance(value, bool) else None
        if number is None or not 0 < number <= MAX_INT:
            raise ValidationError("site_ids must be a list of site ids.")
        ids.append(number)
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_SITES:
        raise ValidationError("A review visits at most %(count)s sites.", count=MAX_SITES)
    return ids


def _check_sites(session: Session, ids: list[int]) -> None:
    if ids:
        found = set(session.scalars(select(Site.id).where(Site.id.in_(ids))))
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError("Site %(site)s does not exist.", site=missing[0])


def create_review(
    session: Session,
    *,
    held_on,
    title,
    site_ids=None,
    participants=None,
    note="",
    user_id: int | None = None,
) -> Review:
    """Record a review (added, flushed, not committed). Everything is checked before anything is written."""
    day = held_on if isinstance(held_on, date) else parse_day(str(held_on or ""))
    review = Review(
        held_on=day.isoformat(),
        title=clean_text(title, "title", 300, required=True),
        site_ids=parse_site_ids(site_ids),
        participants=_participants(participants),
        note=clean_text(note, "note", 4000),
        created_by=user_id,
        created_at=now(),
    )
    _check_sites(session, review.site_ids)
    session.add(review)
    session.flush()
    return review


def find_review(session: Session, review_id: int) -> Review:
    review = session.get(Review, review_id) if 0 < review_id <= MAX_INT else None
    if review is None:
        raise NotFoundError("Review %(review)s does not exist.", review=review_id)
    return review


def list_reviews(session: Session, *, limit: int = 100, offset: int = 0) -> list[tuple[Review, int]]:
    """The latest reviews first, each with how many problems it handed out."""
    counts = (
        select(WorkItem.review_id, func.count().label("n"))
        .where(WorkItem.review_id.is_not(None))
        .group_by(WorkItem.review_id)
        .subquery()
    )
    rows = session.execute(
        select(Review, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.review_id == Review.id)
        .order_by(Review.held_on.desc(), Review.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(review, int(n)) for review, n in rows]


def count_reviews(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Review)) or 0)


def follow_up_at(review: Review) -> datetime:
    """When a review's problems are looked at again: the end of the day one week after the review's day."""
    return end_of_day(date.fromisoformat(review.held_on)) + FOLLOW_UP


@dataclass
class Problem:
    item: WorkItem
    #: the order's state as of `follow_up_at` (None while that moment is still to come)
    week_later: workitems.WorkItemState | None
    now: workitems.WorkItemState


@dataclass
class ReviewPage:
    review: Review
    sites: list[Site]
    problems: list[Problem]
    follow_up_at: datetime
    at: datetime


def review_page(session: Session, review_id: int, at: datetime | None = None) -> ReviewPage:
    """One review with its sites (in the order visited) and its problems, each as it stood a week later and now."""
    review = find_review(session, review_id)
    at = at or now()
    sites_by_id = {}
    if review.site_ids:
        sites_by_id = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(review.site_ids)))}
    items = session.scalars(
        select(WorkItem).where(WorkItem.review_id == review.id).order_by(WorkItem.id)
    ).all()
    week = follow_up_at(review)
    problems = [
        Problem(
            item,
            workitems.state_of(session, item, as_of=week) if week <= at else None,
            workitems.state_of(session, item, as_of=at),
        )
        for item in items
    ]
    return ReviewPage(
        review, [sites_by_id[i] for i in review.site_ids if i in sites_by_id], problems, week, at
    )


def add_problem(
    session: Session,
    review: Review,
    *,
    title,
    unit,
    account,
    valid_at: datetime,
    description="",
    severity="general",
    site_ids: Iterable[int] | None = None,
    client_id: str | None = None,
) -> tuple[WorkItem, bool]:
    """Hand out a problem found at `review` as a work order (`review_problem`, its `review_id` set) in one step
    (not committed); idempotent on `client_id`. Returns the order and whether it was made now (False: replayed)."""
    if client_id is not None:
        # a form sent twice (a double tap, a reload) names the same key: the order it made, not a second one
        # (the API's Idempotency-Key replays the answer before this is reached)
        made = session.scalar(
            select(WorkItem)
            .join(Event, Event.work_item_id == WorkItem.id)
            .where(Event.client_id == client_id, Event.action == workitems.EVENT_ACTIONS["open"])
        )
        if made is not None and made.review_id == review.id:
            return made, False
    if valid_at < end_of_day(date.fromisoformat(review.held_on)) - timedelta(days=1):
        raise ValidationError("A problem of a review cannot be handed out before the review's day.")
    item, recorded = workitems.open_work_item(
        session,
        category="review_problem",
        title=title,
        description=description or "",
        responsible_unit=unit or "",
        severity=severity or "general",
        site_ids=list(site_ids or ()),
        review_id=review.id,
        actor=account.display_name or account.username,
        user_id=account.id,
        valid_at=valid_at,
        client_id=client_id,
    )
    return item, recorded.created
