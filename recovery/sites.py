"""Reporting a site: validate what the field gives, derive what geodata knows, store it with its first event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery import scope
from recovery.errors import Forbidden, ValidationError
from recovery.geodata import Geodata
from recovery.geometry import bbox_of, length_m, parse_geometry, to_metric, validate_geometry
from recovery.incident import current_incident
from recovery.kinds import ROAD_CLASS, SiteKind, get_kind
from recovery.ledger.append import Append, Recorded, append, body_hash
from recovery.ledger.fold import Entry
from recovery.ledger.record import project_site
from recovery.models import Event, Site, Team
from recovery.teams import in_service
from recovery.text import clean_text
from recovery.timeutil import end_of_day, local_day

#: the incident's deadline (`Incident.deadlines`) that a new site of a kind must meet, when it is reported before
#: that day (先主后次: every collapsed road restored by 15 August)
KIND_DEADLINES = {"road_collapse": "roads"}
#: a new site's deadline otherwise, in days after the day it was reported: 13710's "a general problem is solved
#: within 7 days"
DEFAULT_DEADLINE_DAYS = 7


@dataclass
class SiteDraft:
    """A validated site, with its derived fields, ready to store."""

    kind: SiteKind
    name: str
    address: str
    geom: BaseGeometry
    attributes: dict[str, Any]
    priority: int
    deadline: datetime | None
    subdistrict: str | None = None
    segment: str = ""
    key: str | None = None
    team_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        minx, miny, maxx, maxy = bbox_of(self.geom)
        return {
            "key": self.key,
            "kind": self.kind.key,
            "name": self.name,
            "address": self.address,
            "geom": self.geom,
            "minx": minx,
            "miny": miny,
            "maxx": maxx,
            "maxy": maxy,
            "subdistrict": self.subdistrict,
            "attributes": self.attributes,
            "segment": self.segment,
            "priority": self.priority,
            "deadline": self.deadline,
        }


def draft_site(
    kind: str,
    name: Any,
    geometry: Any,
    *,
    address: Any = "",
    attributes: dict | None = None,
    priority: Any = None,
    deadline: datetime | None = None,
    key: str | None = None,
    team_key: str | None = None,
) -> SiteDraft:
    """Check everything about a new site that does not need the database or geodata."""
    site_kind = get_kind(kind)
    geom = validate_geometry(parse_geometry(geometry), site_kind)
    if attributes is not None and not isinstance(attributes, dict):
        raise ValidationError("Attributes must be an object.")
    cleaned = site_kind.clean_attributes(attributes)
    if priority is None:
        priority = default_priority(cleaned)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 3:
        raise ValidationError("Priority must be 1 (most urgent), 2 or 3.")
    return SiteDraft(
        kind=site_kind,
        name=clean_text(name, "name", 200, required=True),
        address=clean_text(address, "address", 300),
        geom=geom,
        attributes=cleaned,
        priority=priority,
        deadline=deadline,
        key=key,
        team_key=team_key,
    )


def default_priority(attributes: dict[str, Any]) -> int:
    """A site's priority when the report gives none: its road class's (先主后次: main 1, secondary 2, branch 3),
    else 2."""
    road_class = attributes.get("road_class")
    if road_class in ROAD_CLASS:
        return list(ROAD_CLASS).index(road_class) + 1
    return 2


def new_site_deadline(kind: SiteKind, reported_at: datetime) -> datetime | None:
    """The deadline of a site reported at `reported_at`: the end of the incident's day for its kind (the roads'
    15 August) when reported by then, else the end of the 7th day after the report; none for a recurring
    check-in point (its work is every day's)."""
    if kind.recurring_check_in:
        return None
    day = local_day(reported_at)
    rule = current_incident().deadlines.get(KIND_DEADLINES.get(kind.key, ""))
    if rule is not None and day <= rule:
        return end_of_day(rule)
    return end_of_day(day + timedelta(days=DEFAULT_DEADLINE_DAYS))


def choosable_teams(session: Session, account: scope.Scoped) -> list[Team]:
    """The teams in service that `account` may give a site it reports: every one for a commander or an admin;
    a field user's own teams and the teams of the sub-districts of their scope."""
    query = select(Team).where(in_service()).order_by(Team.id)
    teams = list(session.scalars(query))
    if account.role in scope.ZONE_WIDE:
        return teams
    return [
        t
        for t in teams
        if t.id in account.team_ids or (t.subdistrict and t.subdistrict in account.subdistricts)
    ]


def team_names(session: Session) -> dict[int, str]:
    """Every team's name by id (retired ones too: a site may still name one)."""
    return {team_id: name for team_id, name in session.execute(select(Team.id, Team.name))}


def team_for_report(
    session: Session,
    account: scope.Scoped,
    team_key: Any,
    place: str | None,
    team_places: dict[int, str | None],
) -> int | None:
    """The team a reported site is given: the one the report names (a team in service that the reporter may
    choose, and for a field user one of theirs or of the site's sub-district), else the reporter's own team of
    that place (`scope.team_for_new_site`)."""
    if team_key is None or team_key == "":
        return scope.team_for_new_site(account, place, team_places)
    if not isinstance(team_key, str):
        raise ValidationError("team must be a team's key.")
    team = session.scalars(select(Team).where(Team.key == team_key, in_service())).first()
    if team is None:
        raise ValidationError("Unknown team %(team)s.", team=team_key[:40])
    if account.role not in scope.ZONE_WIDE and team.id not in account.team_ids and team.subdistrict != place:
        raise Forbidden("You may give a new site only to your own team or a team of its sub-district.")
    return team.id


def distance_from_site(geom: BaseGeometry, position: dict) -> float:
    """Metres from a checked WGS-84 position (`coords.parse_position`) to the nearest point of a site, measured
    in the projected CRS: the position proof of a visit."""
    here = Point(position["lon"], position["lat"])
    return round(to_metric(geom).distance(to_metric(here)), 1)


def derive(drafts: list[SiteDraft], geodata: Geodata) -> None:
    """Fill in what the geodata decides: the sub-district (spatial join), inside the 4th ring, lengths."""
    subdistricts = geodata.subdistricts_of([d.geom for d in drafts])
    needs_ring = [d for d in drafts if any(a.key == "inside_ring4" for a in d.kind.attributes)]
    rings = geodata.inside_ring4_many([d.geom for d in needs_ring])
    for draft, ring in zip(needs_ring, rings, strict=True):
        draft.attributes["inside_ring4"] = ring
    for draft, sub in zip(drafts, subdistricts, strict=True):
        draft.subdistrict = sub
        if any(a.key == "length_m" for a in draft.kind.attributes):
            draft.attributes["length_m"] = round(length_m(draft.geom), 1)
        draft.segment = draft.kind.segment(draft.attributes)


def report_site(
    session: Session,
    draft: SiteDraft,
    geodata: Geodata,
    *,
    actor: str,
    valid_at: datetime,
    note: str = "",
    client_id: str | None = None,
    recorded_at: datetime | None = None,
    user_id: int | None = None,
    position: dict | None = None,
    team_id: int | None = None,
) -> tuple[Site, Recorded]:
    """Store a new site and its `report` event (not committed); idempotent on `client_id`. `team_id` (the
    reporter's team, `scope.team_for_new_site`) is the site's team when it has none of its own."""
    actor = clean_text(actor, "actor", 200, required=True)
    note = clean_text(note, "note", 2000)
    body = {
        "action": "report",
        "kind": draft.kind.key,
        "name": draft.name,
        "address": draft.address,
        "geometry": draft.geom.wkt,
        "attributes": draft.attributes,
        "priority": draft.priority,
        "deadline": draft.deadline.isoformat() if draft.deadline else None,
        "actor": actor,
        "note": note,
        "valid_at": valid_at.isoformat(),
        "key": draft.key,
    }
    digest = body_hash(body)

    def write(txn: Append) -> tuple[Site, Recorded]:
        txn.claim(digest)
        recorded = txn.stamp(valid_at, recorded_at)
        derive([draft], geodata)
        own_team = None
        if draft.team_key:
            own_team = session.scalars(select(Team.id).where(Team.key == draft.team_key)).first()
            if own_team is None:
                raise ValidationError("Unknown team %(team)s.", team=draft.team_key)
        row = draft.row()
        provisional = row.pop("key") or f"{draft.kind.prefix}-new-{digest[:16]}"
        site = Site(
            **row, key=provisional, team_id=own_team, status=draft.kind.initial_status, reported_at=valid_at
        )
        session.add(site)
        session.flush()
        if not draft.key:
            site.key = f"{draft.kind.prefix}-{site.id:06d}"
        event = Event(
            client_id=client_id,
            body_hash=digest,
            action="report",
            site_id=site.id,
            actor=actor,
            to_status=draft.kind.initial_status,
            measures={},
            note=note,
            valid_at=valid_at,
            recorded_at=recorded,
            level=draft.kind.capacity_for(draft.kind.initial_status, {})
            if draft.kind.status_capacity
            else None,
            user_id=user_id,
            details={"position": position} if position else {},
            position_lon=position["lon"] if position else None,
            position_lat=position["lat"] if position else None,
        )
        session.add(event)
        session.flush()
        entry = Entry(event.id, "report", None, event.to_status, event.level, {}, valid_at)
        project_site(session, site, [], [entry])
        return site, Recorded(event, created=True)

    site, recorded = append(
        session,
        write,
        client_id=client_id,
        replayed=lambda event: (session.get(Site, event.site_id), Recorded(event, created=False)),
        conflict=lambda: ValidationError("A site with key %(key)s already exists.", key=draft.key or ""),
    )
    if team_id is not None and site.team_id is None:
        site.team_id = team_id
    return site, recorded
