"""Reporting a site: validate what the field gives, derive what geodata knows, store it with its first event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from recovery.errors import ValidationError
from recovery.geodata import Geodata
from recovery.geometry import bbox_of, length_m, parse_geometry, validate_geometry
from recovery.kinds import SiteKind, get_kind
from recovery.ledger.append import Append, Recorded, append, body_hash
from recovery.ledger.fold import Entry
from recovery.ledger.record import project_site
from recovery.models import Event, Site, Team
from recovery.text import clean_text


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
    priority: Any = 2,
    deadline: datetime | None = None,
    key: str | None = None,
    team_key: str | None = None,
) -> SiteDraft:
    """Check everything about a new site that does not need the database or geodata."""
    site_kind = get_kind(kind)
    geom = validate_geometry(parse_geometry(geometry), site_kind)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 3:
        raise ValidationError("Priority must be 1 (most urgent), 2 or 3.")
    if attributes is not None and not isinstance(attributes, dict):
        raise ValidationError("Attributes must be an object.")
    return SiteDraft(
        kind=site_kind,
        name=clean_text(name, "name", 200, required=True),
        address=clean_text(address, "address", 300),
        geom=geom,
        attributes=site_kind.clean_attributes(attributes),
        priority=priority,
        deadline=deadline,
        key=key,
        team_key=team_key,
    )


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
