"""Commanding (对表督察 / 督查交办): assign sites to a team with a deadline; issue supervision orders (督办).

Every action is in the ledger with who did it: an assignment is an `assign` event per site (it changes no
status) written in the same transaction as the site's new team and deadline; each event names its assignment
(`details.assignment`) and what the site had before (`details.previous`), so that an assignment can be previewed
before it is made and undone after, the undoing being an assignment on record too (`details.undoes`). A
supervision order is a work item under 13710 with its own `work_item_open` event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.errors import NotFoundError, RecoveryError, ValidationError
from recovery.ledger.record import record_site_event
from recovery.models import Event, Site, Team, WorkItem
from recovery.teams import in_service
from recovery.timeutil import deadline_text, now, zone_iso
from recovery.vocab import labels
from recovery.workitems import open_work_item

#: one assignment touches at most this many sites (each is an event); narrow the filter for more
MAX_ASSIGN = 2000


class AssignmentConflict(RecoveryError):
    """An undo that cannot be made: done already, or of an assignment that kept no previous state."""

    http_status = 409
    code = "assignment_conflict"


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
    """One assignment (or the undoing of one): its key in the ledger (`details.assignment` of its events)."""

    key: str
    team: Team | None
    deadline: datetime | None
    site_ids: tuple[int, ...]
    event_ids: tuple[int, ...]
    undoes: str | None = None
    #: sites an undo left alone: assigned again since, so the later decision stands
    kept: tuple[int, ...] = ()


@dataclass(frozen=True)
class LosingTeam:
    team_id: int | None  # None: sites that had no team
    name: str | None
    count: int


@dataclass(frozen=True)
class Preview:
    """What an assignment would do, before it is made: the commander confirms it."""

    site_ids: tuple[int, ...]
    team: Team
    deadline: datetime | None
    clear_deadlines: bool
    already: int  # sites the team already has
    losing: tuple[LosingTeam, ...]  # the teams that lose sites, most sites first
    deadlines_changed: int  # sites whose deadline changes (set, moved or cleared)
    deadlines_kept: int  # sites whose deadline stays as it is
    past_deadline: bool  # the deadline given has passed: the commander must confirm it


def team_names(session: Session) -> dict[int, str]:
    """Every team's name by id, retired ones too (a site may still carry one)."""
    return {int(i): name for i, name in session.execute(select(Team.id, Team.name))}


def _checked(session: Session, site_ids: Iterable[int], team_id: int, deadline, clear_deadlines: bool):
    ids = tuple(dict.fromkeys(int(i) for i in site_ids))
    if not ids:
        raise ValidationError("Choose at least one site.")
    if len(ids) > MAX_ASSIGN:
        raise ValidationError("At most %(limit)s sites can be assigned at once.", limit=MAX_ASSIGN)
    if deadline is not None and clear_deadlines:
        raise ValidationError("Give a deadline or clear the deadlines, not both.")
    team = session.get(Team, team_id)
    if team is None:
        raise NotFoundError("Team %(team)s does not exist.", team=team_id)
    if team.retired_at is not None:
        raise ValidationError("Team %(team)s is retired: choose a team in service.", team=team.name)
    return ids, team


def _current(session: Session, ids: tuple[int, ...]) -> dict[int, tuple[int | None, datetime | None]]:
    """Each site's team and deadline now; a site that does not exist is a 404 for the whole assignment."""
    rows = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows.update(
            (int(i), (team, due))
            for i, team, due in session.execute(
                select(Site.id, Site.team_id, Site.deadline).where(Site.id.in_(chunk))
            )
        )
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFoundError("Site %(site)s does not exist.", site=missing[0])
    return rows


def _new_deadline(old: datetime | None, deadline: datetime | None, clear_deadlines: bool) -> datetime | None:
    """Without a deadline an assignment keeps each site's own; clearing them is asked for by name."""
    if clear_deadlines:
        return None
    return deadline if deadline is not None else old


def preview_assignment(
    session: Session,
    site_ids: Iterable[int],
    *,
    team_id: int,
    deadline: datetime | None,
    clear_deadlines: bool = False,
) -> Preview:
    """What `assign_sites` with the same arguments would change, changing nothing."""
    ids, team = _checked(session, site_ids, team_id, deadline, clear_deadlines)
    current = _current(session, ids)
    names = team_names(session)
    losing: dict[int | None, int] = {}
    changed = 0
    for old_team, old_due in current.values():
        if old_team != team_id:
            losing[old_team] = losing.get(old_team, 0) + 1
        if _new_deadline(old_due, deadline, clear_deadlines) != old_due:
            changed += 1
    return Preview(
        site_ids=ids,
        team=team,
        deadline=deadline,
        clear_deadlines=clear_deadlines,
        already=len(ids) - sum(losing.values()),
        losing=tuple(
            LosingTeam(t, names.get(t) if t is not None else None, n)
            for t, n in sorted(losing.items(), key=lambda item: (-item[1], item[0] or 0))
        ),
        deadlines_changed=changed,
        deadlines_kept=len(ids) - changed,
        past_deadline=deadline is not None and deadline < now(),
    )


def _write(
    session: Session,
    changes: list[tuple[int, int | None, datetime | None, int | None, datetime | None]],
    *,
    names: dict[int, str],
    actor: str,
    user_id: int | None,
    valid_at: datetime,
    undoes: str | None = None,
) -> tuple[str, tuple[int, ...]]:
    """One `assign` event per (site, team, deadline, previous team, previous deadline), each naming the
    assignment's key and what the site had before (so that it can be undone), and the sites brought up to date."""
    key = uuid.uuid4().hex[:16]
    events = []
    for site_id, team_id, deadline, old_team, old_due in changes:
        details = {
            "assignment": key,
            "team_id": team_id,
            "team": names.get(team_id) if team_id is not None else None,
            "deadline": zone_iso(deadline),
            "previous": {"team_id": old_team, "deadline": zone_iso(old_due)},
        }
        if undoes is not None:
            details["undoes"] = undoes
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
    return key, tuple(events)


def assign_sites(
    session: Session,
    site_ids: Iterable[int],
    *,
    team_id: int,
    deadline: datetime | None,
    clear_deadlines: bool = False,
    confirm_past_deadline: bool = False,
    expected_count: int | None = None,
    actor: str,
    user_id: int | None = None,
    valid_at: datetime | None = None,
) -> Assignment:
    """Give the sites to `team_id` with `deadline` (None keeps each site's own deadline, `clear_deadlines`
    removes them): all of them or none (the caller commits; an error rolls the whole assignment back).

    A deadline already past is refused unless `confirm_past_deadline`; `expected_count`, the count a preview
    showed, refuses an assignment whose selection has changed since."""
    ids, team = _checked(session, site_ids, team_id, deadline, clear_deadlines)
    if deadline is not None and deadline < now() and not confirm_past_deadline:
        raise ValidationError(
            "The deadline %(day)s has already passed: confirm it, or choose a later day.",
            day=deadline_text(deadline),
        )
    if expected_count is not None and expected_count != len(ids):
        raise AssignmentConflict(
            "The selection now holds %(count)s sites, not the %(expected)s previewed: preview it again.",
            count=len(ids),
            expected=expected_count,
        )
    current = _current(session, ids)
    changes = [
        (i, team_id, _new_deadline(current[i][1], deadline, clear_deadlines), *current[i]) for i in ids
    ]
    key, events = _write(
        session, changes, names=team_names(session), actor=actor, user_id=user_id, valid_at=valid_at or now()
    )
    return Assignment(key, session.get(Team, team_id), deadline, ids, events)


def _events_of(session: Session, key: str) -> list[Event]:
    assignment = Event.details["assignment"].as_string()
    return list(
        session.scalars(
            select(Event).where(Event.action == "assign", assignment == key[:64]).order_by(Event.id)
        )
    )


def undo_assignment(
    session: Session,
    key: str,
    *,
    actor: str,
    user_id: int | None = None,
    valid_at: datetime | None = None,
) -> Assignment:
    """Give each site of assignment `key` back its previous team and deadline, as a new assignment on record
    (its events name `undoes`). A site assigned again since keeps that later assignment; an assignment is undone
    once (the caller commits)."""
    events = _events_of(session, key)
    if not events:
        raise NotFoundError("Assignment %(key)s does not exist.", key=key[:64])
    if _undone_by(session, key):
        raise AssignmentConflict("Assignment %(key)s has already been undone.", key=key[:64])
    if any("previous" not in (e.details or {}) for e in events):
        raise AssignmentConflict(
            "Assignment %(key)s was made before assignments could be undone.", key=key[:64]
        )
    current = _current(session, tuple(e.site_id for e in events))
    changes, kept = [], []
    for e in events:
        team, due = current[e.site_id]
        if team != e.details["team_id"] or zone_iso(due) != e.details["deadline"]:
            kept.append(e.site_id)  # changed since: the later decision stands
            continue
        previous = e.details["previous"]
        old_due = datetime.fromisoformat(previous["deadline"]) if previous["deadline"] else None
        changes.append((e.site_id, previous["team_id"], old_due, team, due))
    if not changes:
        raise AssignmentConflict(
            "Every site of assignment %(key)s has been assigned again since.", key=key[:64]
        )
    new_key, event_ids = _write(
        session,
        changes,
        names=team_names(session),
        actor=actor,
        user_id=user_id,
        valid_at=valid_at or now(),
        undoes=key,
    )
    return Assignment(
        new_key, None, None, tuple(c[0] for c in changes), event_ids, undoes=key, kept=tuple(kept)
    )


def _undone_by(session: Session, key: str) -> list[Event]:
    undoes = Event.details["undoes"].as_string()
    return list(session.scalars(select(Event).where(Event.action == "assign", undoes == key[:64]).limit(1)))


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
    user_id: int | None = None,
    description: str = "",
) -> WorkItem:
    """A 督办 work order: acknowledged the same day, fed back in 3 days, resolved in 7 (general) or 30 (major),
    then checked and closed (销号) in the loop of `recovery.workitems` (the caller commits)."""
    item, _recorded = open_work_item(
        session,
        category="supervision",
        title=title,
        description=description,
        responsible_unit=responsible_unit,
        severity=severity,
        site_id=site_id,
        actor=actor,
        user_id=user_id,
        valid_at=valid_at or now(),
    )
    return item
