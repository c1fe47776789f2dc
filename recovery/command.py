"""Commanding (对表督察 / 督查交办): assign sites to a team with a deadline; issue supervision orders (督办).

Every action is in the ledger with who did it: an assignment is an `assign` event per site (it changes no
status) written in the same transaction as the site's new team and deadline; a supervision order is a work
item under 13710 with its own `work_item_open` event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.errors import NotFoundError, ValidationError
from recovery.ledger.record import record_site_event
from recovery.models import Site, Team, WorkItem
from recovery.teams import in_service
from recovery.timeutil import now, zone_iso
from recovery.vocab import labels
from recovery.workitems import open_work_item

#: one assignment touches at most this many sites (each is an event); narrow the filter for more
MAX_ASSIGN = 2000


def crews(session: Session) -> list[tuple[int, str]]:
    """The crews sites may be assigned to, as (id, name), in the order they were created."""
    return [
        tuple(row)
        for row in session.execute(
            select(Team.id, Team.name).where(Team.type == "crew", in_service()).order_by(Team.id)
        )
    ]


@dataclass(frozen=True)
class Assignment:
    team: Team
    deadline: datetime | None
    site_ids: tuple[int, ...]
    event_ids: tuple[int, ...]


def assign_sites(
    session: Session,
    site_ids: Iterable[int],
    *,
    team_id: int,
    deadline: datetime | None,
    actor: str,
    user_id: int | None = None,
    valid_at: datetime | None = None,
) -> Assignment:
    """Give the sites to `team_id` with `deadline` (None keeps no deadline): all of them or none (the caller
    commits; an error rolls the whole assignment back)."""
    ids = tuple(dict.fromkeys(int(i) for i in site_ids))
    if not ids:
        raise ValidationError("Choose at least one site.")
    if len(ids) > MAX_ASSIGN:
        raise ValidationError("At most %(limit)s sites can be assigned at once.", limit=MAX_ASSIGN)
    team = session.get(Team, team_id)
    if team is None:
        raise NotFoundError("Team %(team)s does not exist.", team=team_id)
    team_name = team.name
    valid_at = valid_at or now()
    details = {"team_id": team_id, "team": team_name, "deadline": zone_iso(deadline)}
    events = []
    for site_id in ids:
        recorded = record_site_event(
            session,
            site_id,
            action="assign",
            actor=actor,
            valid_at=valid_at,
            user_id=user_id,
            details=details,
        )
        site = session.get(Site, site_id)
        site.team_id = team_id
        site.deadline = deadline
        session.add(site)
        events.append(recorded.event.id)
    return Assignment(session.get(Team, team_id), deadline, ids, tuple(events))


def unit_choices(locale: str | None = "zh") -> list[tuple[str, str]]:
    """The responsible units a supervision order may be handed to, (key, label in `locale`), in the vocabulary's
    order: the five offices, then the bureaus."""
    return list(labels("unit", locale).items())


def issue_supervision_order(
    session: Session,
    *,
    title: str,
    responsible_unit: str,
    severity: str = "general",
    site_id: int | None = None,
    actor: str,
    valid_at: datetime | None = None,
) -> WorkItem:
    """A 督办 work item: feedback due in 3 days, solved in 7 (general) or 30 (major), tracked to 销号 (the
    caller commits)."""
    item, _recorded = open_work_item(
        session,
        category="supervision",
        title=title,
        responsible_unit=responsible_unit,
        severity=severity,
        site_id=site_id,
        actor=actor,
        valid_at=valid_at or now(),
    )
    return item
