"""The commander's queue in the ledger: changes flagged because they were made before their site was closed but
arrived after, until a later event resolves them (`details.resolves`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.models import Event
from recovery.numbers import MAX_INT


def pending_conflicts(session: Session) -> list[Event]:
    """Flagged events that no later event has resolved, in the order they were recorded."""
    flagged = list(session.scalars(select(Event).where(Event.flag.is_not(None)).order_by(Event.id)))
    if not flagged:
        return []
    resolves = Event.details["resolves"].as_integer()
    resolved = set(session.scalars(select(resolves).where(resolves.in_([e.id for e in flagged]))))
    return [e for e in flagged if e.id not in resolved]


def flagged_event(session: Session, event_id: int) -> Event | None:
    """Event `event_id` when it was flagged (decided or not), else None."""
    event = session.get(Event, event_id) if 0 < event_id <= MAX_INT else None
    return event if event is not None and event.flag is not None else None


def is_pending(session: Session, event: Event) -> bool:
    """Whether no event has resolved flagged `event` yet."""
    return event in pending_conflicts(session)
