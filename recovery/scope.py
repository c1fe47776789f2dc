"""Scope: which sites a user may change and where a user may report a new one, decided here and nowhere else.

Commanders and admins act on the whole zone; reporters (and anyone else) change nothing. A field user's scope
is made of sub-districts and teams: either, both, or neither (then nothing is theirs).

- An existing site is theirs when it lies in one of their sub-districts or is assigned to one of their teams
  (a commander may assign a team a site anywhere).
- A new site may be reported where it lies in one of their sub-districts or in the place of one of their teams
  (the team's sub-district; a zone-wide team has none and grants no place). A team's own reports never reach
  beyond its place: what it is sent to elsewhere, a commander assigns.

The roles' access to routes is `recovery.web.policy`; this is the finer rule that depends on the record.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.models import Team

ZONE_WIDE = frozenset({"commander", "admin"})
SCOPED = "field"


class Scoped(Protocol):
    role: str
    subdistricts: Collection[str]
    team_ids: Collection[int]


def may_change(account: Scoped | None, site) -> bool:
    """Whether `account` may change `site` (anything with `subdistrict` and `team_id`)."""
    if account is None or account.role not in ZONE_WIDE | {SCOPED}:
        return False
    if account.role in ZONE_WIDE:
        return True
    return site.subdistrict in account.subdistricts or (
        site.team_id is not None and site.team_id in account.team_ids
    )


def may_report_at(account: Scoped | None, place: str | None, team_places: Mapping[int, str | None]) -> bool:
    """Whether `account` may report a new site lying in sub-district `place` (None: outside them all).

    `team_places` maps the account's teams to their sub-districts (`team_places`)."""
    if account is None or account.role not in ZONE_WIDE | {SCOPED}:
        return False
    if account.role in ZONE_WIDE:
        return True
    return place is not None and (
        place in account.subdistricts or place in {team_places.get(t) for t in account.team_ids}
    )


def team_for_new_site(
    account: Scoped, place: str | None, team_places: Mapping[int, str | None]
) -> int | None:
    """The team a field user's new site is assigned to: their team of that place, else a zone-wide team of
    theirs (lowest id first); None for other roles or when no team of theirs fits."""
    if account.role != SCOPED:
        return None
    here = sorted(t for t in account.team_ids if team_places.get(t) == place)
    anywhere = sorted(t for t in account.team_ids if team_places.get(t) is None)
    return (here or anywhere or [None])[0]


def team_places(session: Session, team_ids: Collection[int]) -> dict[int, str | None]:
    """The sub-district of each of these teams (None for a zone-wide team)."""
    if not team_ids:
        return {}
    rows = session.execute(select(Team.id, Team.subdistrict).where(Team.id.in_(list(team_ids))))
    return {team_id: subdistrict for team_id, subdistrict in rows}
