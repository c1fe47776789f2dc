"""The sites behind a report, streamed as of its moment (and record-time cutoff): one row per site with its
status, dates and measures, for the Excel ledger and the GeoJSON file. Memory stays flat at any size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from recovery.db.types import GeometryType
from recovery.kinds import KINDS
from recovery.ledger.asof import done_since, effective_cutoff, latest_per_track
from recovery.ledger.fold import overall_status
from recovery.models import EventMeasure, Site

FLOW_MEASURES = ("silt_m3", "garbage_t")
BATCH = 5000


@dataclass(slots=True)
class ReportSite:
    """One site as of the report's moment. `lon`/`lat` is the point itself or a point on its line or polygon
    (`representative_point`); `geometry` is the GeoJSON geometry, when it was asked for."""

    id: int
    key: str
    kind: str
    name: str
    address: str
    subdistrict: str | None
    attributes: dict[str, Any]
    deadline: datetime | None
    reported_at: datetime | None
    done_at: datetime | None
    status: str
    level: float | None
    measures: dict[str, float]
    lon: float
    lat: float
    geometry: dict | None = None


def _track_statuses(
    session: Session, as_of: datetime, known_at: datetime | None
) -> dict[int, dict[str, str]]:
    """The utilities' statuses of every tracked site (residential communities), as of the moment."""
    latest = latest_per_track(session, as_of, known_at)
    out: dict[int, dict[str, str]] = {}
    # only tracked kinds have tracks: no join, which SQLite may plan as a rescan of the subquery per site
    stmt = select(latest.c.site_id, latest.c.track, latest.c.to_status).where(latest.c.track != "")
    for site_id, track, status in session.execute(stmt):
        out.setdefault(site_id, {})[track] = status
    return out


def iter_sites(
    session: Session,
    as_of: datetime,
    known_at: datetime | None = None,
    *,
    kinds: tuple[str, ...] | None = None,
    limit: int | None = None,
    geometry: bool = True,
) -> Iterator[ReportSite]:
    """Every site that existed at `as_of` (as known at `known_at`), by kind then id, fetched in batches as plain
    rows (no ORM objects). With `geometry=False` (the Excel ledger) points are not decoded at all: a point's
    bounding box is the point."""
    latest = latest_per_track(session, as_of, known_at)
    tracks = _track_statuses(session, as_of, known_at)
    conditions = [latest.c.track == ""]
    if kinds:
        conditions.append(Site.kind.in_(kinds))
    is_point = and_(Site.minx == Site.maxx, Site.miny == Site.maxy)
    geom = Site.geom if geometry else type_coerce(case((is_point, None), else_=Site.geom), GeometryType())
    stmt = (
        select(
            Site.id,
            Site.key,
            Site.kind,
            Site.name,
            Site.address,
            Site.subdistrict,
            Site.attributes,
            Site.deadline,
            Site.reported_at,
            Site.done_at,
            latest.c.to_status,
            latest.c.level,
            Site.minx,
            Site.miny,
            geom.label("geom"),
        )
        .join(latest, latest.c.site_id == Site.id)
        .where(*conditions)
        .order_by(Site.kind, Site.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    cutoff = effective_cutoff(session, known_at)
    for batch in session.execute(stmt.execution_options(yield_per=BATCH)).partitions():
        measures = _measures_of(session, [row[0] for row in batch], as_of, known_at)
        sites = [_site(row, tracks, measures.get(row[0], {}), as_of, geometry) for row in batch]
        # the projection's done_at is when the site became done as known now: right for a site done at the
        # moment and ever since; the others (reopened or finished again since, or a record-time cutoff) fold
        refold = [
            s.id
            for s in sites
            if s.status == KINDS[s.kind].done_status and (cutoff is not None or s.done_at is None)
        ]
        done = done_since(session, refold, as_of, cutoff)
        for site in sites:
            if site.id in done:
                site.done_at = done[site.id]
            yield site


def _measures_of(session: Session, ids: list[int], as_of: datetime, known_at: datetime | None) -> dict:
    """The flow measures (m³ of silt, t of garbage) summed per site up to the moment, for one batch of sites."""
    conditions = [
        EventMeasure.site_id.in_(ids),
        EventMeasure.key.in_(FLOW_MEASURES),
        EventMeasure.valid_at < as_of,
    ]
    if known_at is not None:
        conditions.append(EventMeasure.recorded_at <= known_at)
    out: dict[int, dict[str, float]] = {}
    stmt = (
        select(EventMeasure.site_id, EventMeasure.key, func.sum(EventMeasure.value))
        .where(*conditions)
        .group_by(EventMeasure.site_id, EventMeasure.key)
        .order_by(EventMeasure.site_id, EventMeasure.key)
    )
    for site_id, key, total in session.execute(stmt):
        out.setdefault(site_id, {})[key] = round(total, 6)
    return out


def _site(row, tracks: dict, measures: dict, as_of: datetime, with_geometry: bool) -> ReportSite:
    (site_id, key, kind_key, name, address, sub, attributes, deadline, reported_at, done_at) = row[:10]
    to_status, level, minx, miny, geom = row[10:]
    kind = KINDS[kind_key]
    if geom is None:
        lon, lat, geometry = minx, miny, None
    else:
        point = geom if geom.geom_type == "Point" else shapely.point_on_surface(geom)
        lon, lat, geometry = point.x, point.y, mapping(geom) if with_geometry else None
    status = overall_status(kind, tracks.get(site_id, {})) if kind.tracks else to_status
    done = status == kind.done_status and done_at is not None and done_at < as_of
    return ReportSite(
        id=site_id,
        key=key,
        kind=kind_key,
        name=name,
        address=address,
        subdistrict=sub,
        attributes=attributes or {},
        deadline=deadline,
        reported_at=reported_at,
        done_at=done_at if done else None,
        status=status,
        level=level if kind.status_capacity else None,
        measures=measures,
        lon=lon,
        lat=lat,
        geometry=geometry,
    )
