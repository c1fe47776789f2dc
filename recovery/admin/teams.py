"""Team administration: add, change (rename, type, sub-district, head count) and retire teams. A team is never
deleted: retiring it ends its service, and the rescue-force figures as of a day count the teams serving that day
(`recovery.teams`). Each change is one transaction holding the change and its audit row."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from recovery.admin import audit
from recovery.admin.audit import Actor
from recovery.db.engine import begin_write
from recovery.errors import NotFoundError, ValidationError
from recovery.models import Team
from recovery.numbers import whole_number
from recovery.text import clean_text
from recovery.timeutil import now, parse_day, start_of_day, zone_iso
from recovery.vocab import resolve

#: the most members a team may declare (the zone's whole workforce is far below)
MAX_MEMBERS = 100_000
MAX_LIST = 1000
_KEY = re.compile(r"[A-Za-z0-9_-]{1,40}")


def snapshot(team: Team) -> dict[str, Any]:
    return {
        "key": team.key,
        "name": team.name,
        "type": team.type,
        "subdistrict": team.subdistrict,
        "members": team.members,
        "registered_at": zone_iso(team.registered_at),
        "retired_at": zone_iso(team.retired_at),
    }


def team_dict(team: Team) -> dict[str, Any]:
    return {"id": team.id, **snapshot(team)}


def list_teams(session: Session, q: str = "", *, retired: bool = True, limit: int = MAX_LIST) -> list[Team]:
    """Teams whose key or name contains `q`, in the order they were added; `retired=False` leaves out the retired."""
    stmt = select(Team).order_by(Team.id).limit(max(1, min(limit, MAX_LIST)))
    q = clean_text(q, "q", 80)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Team.key).like(pattern), func.lower(Team.name).like(pattern)))
    if not retired:
        stmt = stmt.where(Team.retired_at.is_(None))
    return list(session.scalars(stmt))


def find_team(session: Session, key: str) -> Team:
    team = session.scalar(select(Team).where(Team.key == str(key or "").strip()))
    if team is None:
        raise NotFoundError("No team %(team)s.", team=str(key)[:40])
    return team


def _subdistrict(value: str | None) -> str | None:
    """A sub-district by any of its names; empty: the whole zone."""
    text = clean_text(value, "subdistrict", 40)
    return resolve("subdistrict", text) if text else None


def _day_start(value: str | date | None) -> datetime | None:
    if value is None or value == "":
        return None
    return start_of_day(value if isinstance(value, date) else parse_day(str(value)))


def _next_key(session: Session) -> str:
    """T-NNNN after the highest such key."""
    numbers = [
        int(k[2:]) for k in session.scalars(select(Team.key).where(Team.key.like("T-%"))) if k[2:].isdigit()
    ]
    return f"T-{max(numbers, default=0) + 1:04d}"


def _commit_with(session: Session, change):
    begin_write(session)
    try:
        result = change()
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


def add_team(
    session: Session,
    actor: Actor,
    *,
    name: str,
    type: str,
    subdistrict: str | None = None,
    members: Any = 0,
    key: str | None = None,
    registered_on: str | date | None = None,
) -> Team:
    """Register a team. `registered_on` (a day of the incident's window) makes it count from that day; without it,
    it counts on every day, as the teams registered before the records began."""

    def change():
        team = Team(
            key=_team_key(session, key),
            name=clean_text(name, "name", 200, required=True),
            type=resolve("team_type", type),
            subdistrict=_subdistrict(subdistrict),
            members=whole_number(members if members not in (None, "") else 0, "members", 0, MAX_MEMBERS),
            registered_at=_day_start(registered_on),
        )
        session.add(team)
        session.flush()
        audit.record(session, actor, "team.add", f"team:{team.key}", None, snapshot(team))
        return team

    return _commit_with(session, change)


def _team_key(session: Session, key: str | None) -> str:
    key = clean_text(key, "key", 40)
    if not key:
        return _next_key(session)
    if not _KEY.fullmatch(key):
        raise ValidationError("A team key is 1 to 40 letters, digits, - or _.")
    if session.scalar(select(Team.id).where(Team.key == key)) is not None:
        raise ValidationError("Team %(team)s already exists.", team=key)
    return key


def edit_team(
    session: Session,
    actor: Actor,
    key: str,
    *,
    name: str | None = None,
    type: str | None = None,
    subdistrict: str | None = None,
    members: Any = None,
) -> Team:
    """Rename a team or change its type, sub-district (empty text: the whole zone) or head count (None: kept)."""

    def change():
        team = find_team(session, key)
        if team.retired_at is not None:
            raise ValidationError("Team %(team)s is retired.", team=team.key)
        before = snapshot(team)
        if name is not None:
            team.name = clean_text(name, "name", 200, required=True)
        if type is not None:
            team.type = resolve("team_type", type)
        if subdistrict is not None:
            team.subdistrict = _subdistrict(subdistrict)
        if members is not None and members != "":
            team.members = whole_number(members, "members", 0, MAX_MEMBERS)
        session.add(team)
        after = snapshot(team)
        if after != before:
            audit.record(session, actor, "team.edit", f"team:{team.key}", before, after)
        return team

    return _commit_with(session, change)


def retire_team(session: Session, actor: Actor, key: str, on: str | date | None = None) -> Team:
    """Retire a team from the start of day `on` (default: now): it counts in no figure from then on, is offered
    for no assignment, and stays in the records with the days it served."""

    def change():
        team = find_team(session, key)
        if team.retired_at is not None:
            raise ValidationError("Team %(team)s is retired.", team=team.key)
        at = _day_start(on) or now()
        if team.registered_at is not None and at <= team.registered_at:
            raise ValidationError("A team cannot retire before it was registered.")
        before = snapshot(team)
        team.retired_at = at
        session.add(team)
        audit.record(session, actor, "team.retire", f"team:{team.key}", before, snapshot(team))
        return team

    return _commit_with(session, change)
