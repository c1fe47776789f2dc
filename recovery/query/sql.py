"""A SiteQuery answered by the database: its conditions on the site table (the projection, now), and the sites
the exports and the OGC service return with their state now or as of any time, replayed from the ledger."""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shapely.geometry.base import BaseGeometry
from sqlalchemy import and_, false, func, not_, or_, select
from sqlalchemy.orm import Session

from recovery.db import dialect
from recovery.kinds import KINDS
from recovery.ledger.asof import latest_status_events
from recovery.ledger.fold import overall_status
from recovery.models import Site
from recovery.query.sites import PSEUDO_STATUSES, SiteQuery
from recovery.timeutil import now

TRACKED = tuple(k.key for k in KINDS.values() if k.tracks)


class Scope(Protocol):
    """What `mine` means for a caller: their teams' sites and their sub-districts' (an Account is one)."""

    team_ids: Collection[int]
    subdistricts: Collection[str]


def bbox_condition(session: Session, bbox: tuple[float, float, float, float]):
    """Sites whose bounding box meets `bbox` (WGS-84), through the spatial index: SQLite's R*Tree, PostGIS's &&."""
    return dialect.bbox_condition(session, Site.id, Site.__table__.c.geom, "site_rtree", bbox)


def text_condition(words: str):
    """Sites whose name or address contains `words` (case-insensitive; %, _ and \\ are literal)."""
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(Site.name.ilike(pattern, escape="\\"), Site.address.ilike(pattern, escape="\\"))


def done_condition(status_column=Site.status):
    """A site in its kind's last status."""
    return or_(*(and_(Site.kind == k.key, status_column == k.done_status) for k in KINDS.values()))


def status_condition(statuses: tuple[str, ...], status_column=Site.status):
    named = [s for s in statuses if s not in PSEUDO_STATUSES]
    either = [status_column.in_(named)] if named else []
    if "done" in statuses:
        either.append(done_condition(status_column))
    if "open" in statuses:
        either.append(not_(done_condition(status_column)))
    return or_(*either)


def status_matches(kind: str, status: str | None, statuses: tuple[str, ...]) -> bool:
    """The same as status_condition, for one site's status in Python."""
    done = status == KINDS[kind].done_status
    return status in statuses or ("done" in statuses and done) or ("open" in statuses and not done)


def bounds_condition(bbox: tuple[float, float, float, float]) -> list:
    """Sites whose bounding box meets `bbox`, on the site's bounds columns: the form for a query that joins the
    ledger, where PostgreSQL plans the spatial index's && badly (a nested loop over the window: minutes)."""
    minx, miny, maxx, maxy = bbox
    return [Site.maxx >= minx, Site.minx <= maxx, Site.maxy >= miny, Site.miny <= maxy]


def conditions(
    session: Session,
    q: SiteQuery,
    scope: Scope | None = None,
    *,
    statuses: bool = True,
    spatial_index: bool = True,
) -> list:
    """The query's conditions on the site table (its status as now recorded, with `statuses`; the box through
    the spatial index, or with `spatial_index` False on the bounds columns)."""
    out = []
    if q.kinds:
        out.append(Site.kind == q.kinds[0] if len(q.kinds) == 1 else Site.kind.in_(q.kinds))
    if q.subdistrict == "":  # outside every sub-district
        out.append(or_(Site.subdistrict.is_(None), Site.subdistrict == ""))
    elif q.subdistrict is not None:
        out.append(Site.subdistrict == q.subdistrict)
    if q.team is not None:
        out.append(Site.team_id == q.team)
    if q.keys:
        out.append(Site.key.in_(q.keys))
    if q.text:
        out.append(text_condition(q.text))
    if q.bbox is not None:
        out += [bbox_condition(session, q.bbox)] if spatial_index else bounds_condition(q.bbox)
    if q.mine:
        theirs = []
        if scope is not None and scope.team_ids:
            theirs.append(Site.team_id.in_(list(scope.team_ids)))
        if scope is not None and scope.subdistricts:
            theirs.append(Site.subdistrict.in_(list(scope.subdistricts)))
        out.append(or_(*theirs) if theirs else false())
        if not q.include_done:
            out.append(not_(done_condition()))
    if statuses and q.statuses:
        out.append(status_condition(q.statuses))
    if statuses and q.overdue:
        out += [Site.deadline < (q.as_of or now()), not_(done_condition())]
    return out


def _distance_m(site: Site, lon: float, lat: float) -> float:
    point = site.geom.representative_point()
    dx = math.radians(point.x - lon) * math.cos(math.radians(lat)) * 6_371_000
    dy = math.radians(point.y - lat) * 6_371_000
    return math.hypot(dx, dy)


def list_sites(session: Session, q: SiteQuery, scope: Scope | None, urgency) -> tuple[list[Site], int, dict]:
    """One page of sites (the API's list): by id, or, for `mine` or `near`, most urgent first (`urgency(site,
    distance)`) then nearest. Returns the page, how many match in all, and each listed site's distance."""
    query = select(Site).where(*conditions(session, q, scope))
    limit = q.limit if q.limit is not None else 500
    if q.mine or q.near:
        sites = list(session.scalars(query))
        distances = {s.id: _distance_m(s, *q.near) if q.near else None for s in sites}
        sites.sort(key=lambda s: urgency(s, distances[s.id]))
        return sites[q.offset : q.offset + limit], len(sites), distances
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    return list(session.scalars(query.order_by(Site.id).offset(q.offset).limit(limit))), total, {}


# -- the exports' and the OGC service's records ----------------------------------------------------------------


@dataclass
class SiteRecord:
    id: int
    key: str
    kind: str
    name: str
    address: str
    geom: BaseGeometry
    subdistrict: str | None
    attributes: dict[str, Any]
    priority: int
    deadline: datetime | None
    status: str
    track_status: dict[str, str]
    capacity_pct: float | None
    reported_at: datetime | None


_COLUMNS = (
    Site.id,
    Site.key,
    Site.kind,
    Site.name,
    Site.address,
    Site.geom,
    Site.subdistrict,
    Site.attributes,
    Site.priority,
    Site.deadline,
)


def select_sites(
    session: Session, q: SiteQuery, *, count: bool = False, scope: Scope | None = None
) -> tuple[list[SiteRecord], int | None]:
    """One page of sites ordered by id (`q.limit`, `q.offset`), and (with `count`) how many match in all."""
    if q.as_of is None:
        where = conditions(session, q, scope, spatial_index=False)
        stmt = select(*_COLUMNS, Site.status, Site.track_status, Site.capacity_pct, Site.reported_at).where(
            *where
        )
        matched = session.scalar(select(func.count()).select_from(Site).where(*where)) if count else None
        page = stmt.order_by(Site.id).offset(q.offset)
        if q.limit is not None:
            page = page.limit(q.limit)
        return [SiteRecord(*row) for row in session.execute(page)], matched
    return _as_of(session, q, count, scope)


def _as_of(session: Session, q: SiteQuery, count: bool, scope: Scope | None):
    latest = latest_status_events(q.as_of, None)
    where = [
        *conditions(session, q, scope, statuses=False, spatial_index=False),
        latest.c.rn == 1,
        latest.c.track == "",
    ]
    # a community's status is folded from its utilities' (below), and overdue needs the status at as_of
    python_filter = q.overdue or (bool(q.statuses) and (not q.kinds or any(k in TRACKED for k in q.kinds)))
    if q.statuses and not python_filter:
        where.append(status_condition(q.statuses, latest.c.to_status))
    stmt = (
        # reported_at is the valid time of the site's one report event: the same at any moment after it
        select(*_COLUMNS, latest.c.to_status, latest.c.level, Site.reported_at)
        .join(latest, latest.c.site_id == Site.id)
        .where(*where)
        .order_by(Site.id)
    )
    matched = None
    if count and not python_filter:
        matched = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if not python_filter:
        stmt = stmt.offset(q.offset)
        if q.limit is not None:
            stmt = stmt.limit(q.limit)
    rows = [
        SiteRecord(*fields, status, {}, level, reported)
        for *fields, status, level, reported in session.execute(stmt)
    ]
    _fill_tracks(session, q.as_of, [r for r in rows if r.kind in TRACKED])
    if python_filter:
        if q.statuses:
            rows = [r for r in rows if status_matches(r.kind, r.status, q.statuses)]
        if q.overdue:
            rows = [r for r in rows if _overdue(r, q.as_of)]
        matched = len(rows)
        rows = rows[q.offset : None if q.limit is None else q.offset + q.limit]
    for row in rows:
        if row.kind not in TRACKED and not KINDS[row.kind].status_capacity:
            row.capacity_pct = None
    return rows, matched


def _overdue(row: SiteRecord, at: datetime) -> bool:
    return row.deadline is not None and row.deadline < at and row.status != KINDS[row.kind].done_status


def _fill_tracks(session: Session, as_of: datetime, rows: list[SiteRecord]) -> None:
    if not rows:
        return
    latest = latest_status_events(as_of, None)
    by_id = {r.id: r for r in rows}
    ids = list(by_id)
    for start in range(0, len(ids), 5000):
        stmt = select(latest.c.site_id, latest.c.track, latest.c.to_status).where(
            latest.c.rn == 1, latest.c.track != "", latest.c.site_id.in_(ids[start : start + 5000])
        )
        for site_id, track, status in session.execute(stmt):
            by_id[site_id].track_status[track] = status
    for row in rows:
        row.track_status = dict(sorted(row.track_status.items()))
        row.status = overall_status(KINDS[row.kind], row.track_status)
        row.capacity_pct = None


def site_shapes(session: Session, ids: list[int]) -> list[tuple[int, str, str, BaseGeometry]]:
    """(id, kind, name, geometry) of the sites `ids`, by id: what the map draws of the sites in its view."""
    out = []
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        out += session.execute(
            select(Site.id, Site.kind, Site.name, Site.geom).where(Site.id.in_(chunk)).order_by(Site.id)
        ).all()
    return out
