"""What the desktop site page reads, without Flask: one site with its team, its whole history (site changes and the
steps of its work orders) with the photos of each change, the photos no change names, and its work orders."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from recovery import photos as photo_store
from recovery import workitems
from recovery.i18n import N_
from recovery.models import Event, Site, Team, WorkItem
from recovery.models_accounts import Photo
from recovery.query.site import find_site, site_history
from recovery.workitems_read import site_work_items

#: who reads the desktop site page (the field app `/field` serves the field teams; a unit reads its orders)
READERS = ("commander", "reporter", "admin")


@dataclass
class HistoryEntry:
    """One event of the site: a change of its own, or a step of one of its work orders (`work_step` names it)."""

    event: Event
    photos: list[Photo] = field(default_factory=list)
    work_step: str | None = None


@dataclass
class SitePage:
    site: Site
    team: Team | None
    history: list[HistoryEntry]
    #: the site's finished photos that no event names (uploaded, then not sent with a change)
    loose_photos: list[Photo]
    work_items: list[WorkItem]


def site_page(session: Session, site_id: int) -> SitePage | None:
    """Site `site_id` as its page shows it, or None when there is no such site."""
    site = find_site(session, site_id)
    if site is None:
        return None
    events = site_history(session, site.id)
    by_upload: dict[tuple[int | None, str], Photo] = {
        (p.user_id, p.upload_id): p for p in photo_store.site_photos(session, site.id)
    }
    used: set[int] = set()
    history = []
    for event in events:
        attached = []
        for upload in (event.details or {}).get("photos", []) or []:
            photo = by_upload.get((event.user_id, upload))
            if photo is not None:
                attached.append(photo)
                used.add(photo.id)
        history.append(HistoryEntry(event, attached, workitems.STEP_OF_EVENT.get(event.action)))
    team = session.get(Team, site.team_id) if site.team_id else None
    loose = [p for p in by_upload.values() if p.id not in used]
    return SitePage(site, team, history, sorted(loose, key=lambda p: p.id), site_work_items(session, site.id))


#: what a site's own event did, as the page names it (work-order steps are named by `workitems.STEP_NAMES`)
SITE_ACTIONS = {
    "report": N_("Reported"),
    "transition": N_("Status changed"),
    "reopen": N_("Reopened"),
    "check_in": N_("Checked in"),
    "assign": N_("Assigned to a team"),
    "edit": N_("Details corrected"),
    "relapse": N_("Relapse reported"),
}
