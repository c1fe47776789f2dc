"""Reads of work items for the doors (a site's items as the API lists them), without Flask."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.models import WorkItem


def site_work_items(session: Session, site_id: int) -> list[WorkItem]:
    """The work items opened on a site, oldest first."""
    return list(session.scalars(select(WorkItem).where(WorkItem.site_id == site_id).order_by(WorkItem.id)))
