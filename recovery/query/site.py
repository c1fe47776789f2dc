"""One site as the API shows it: the site by its id and its history in the ledger, read without Flask."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.models import Event, Site
from recovery.numbers import MAX_INT


def find_site(session: Session, site_id: int) -> Site | None:
    """Site `site_id`, or None (an id past an INTEGER column's range names nothing, rather than overflowing in
    PostgreSQL)."""
    return session.get(Site, site_id) if 0 < site_id <= MAX_INT else None


def site_history(session: Session, site_id: int) -> list[Event]:
    """Every event of a site, in the order it happened (valid time), ties in the order they were recorded."""
    return list(
        session.scalars(select(Event).where(Event.site_id == site_id).order_by(Event.valid_at, Event.id))
    )
