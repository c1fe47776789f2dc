"""The sites behind a report, streamed as of its moment (and record-time cutoff): one row per site with its
status, dates and measures, for the Excel ledger and the GeoJSON file. Memory stays flat at any size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery.kinds import KINDS
from recovery.ledger.fold import overall_status
from recovery.metrics.cube import _latest_status_events
from recovery.models import EventMeasure, Site

FLOW_MEASURES = ("silt_m3", "garbage_t")
BATCH = 2000


@dataclass
class ReportSite:
    id: int
    key: str
    kind: str
    name: str
    address: str
    subdistrict: str | None
    attributes: dict[str, Any]
    geom: BaseGeometry
    deadline: datetime | None
    reported_at: datetime | None
    done_at: datetime | None
    status: str
    level: float | None
    measures: dict[str, float]

    @property
    def lonlat(self) -> tuple[float, float]:
        point = self.geom if self.geom.geom_type == "Point" else self.geom.representative_point()
        return point.x, point.y


def _track_statuses(
    session: Session, as_of: datetime, known_at: datetime | None
) -> dict[int, dict[str, str]]:
    """The utilities' statuses of every tracked site (residential communities), as of the moment."""
    latest = _latest_status_events(as_of, known_at)
    tracked = [k.key for k in KINDS.values() if k.tracks]
    out: dict[int, dict[str, str]] = {}
    stmt = (
        select(latest.c.site_id, latest.c.track, latest.c.to_status)
        .join(Site, Site.id == latest.c.site_id)
        .where(latest.c.rn == 1, latest.c.track != "", Site.kind.in_(tracked))
    )
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
) -> Iterator[ReportSite]:
    """Every site that existed at `as_of` (as known at `known_at`), ordered by id, fetched in batches."""
    latest = _latest_status_events(as_of, known_at)
    tracks = _track_statuses(session, as_of, known_at)
    conditions = [latest.c.rn == 1, latest.c.track == ""]
    if kinds:
        conditions.append(Site.kind.in_(kinds))
    stmt = (
        select(
            Site.id,
            Site.key,
            Site.kind,
            Site.name,
            Site.address,
            Site.subdistrict,
            Site.attributes,
            Site.geom,
            Site.deadline,
            Site.reported_at,
            Site.done_at,
            latest.c.to_status,
            latest.c.level,
        )
        .join(latest, latest.c.site_id == Site.id)
        .where(*conditions)
        .order_by(Site.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    for batch in session.execute(stmt.execution_options(yield_per=BATCH)).partitions():
        measures = _measures_of(session, [row.id for row in batch], as_of, known_at)
        for row in batch:
            yield _site(row, tracks, measures.get(row.id, {}), as_of)


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
    )
    for site_id, key, total in session.execute(stmt):
        out.setdefault(site_id, {})[key] = round(total, 6)
    return out


def _site(row, tracks: dict, measures: dict, as_of: datetime) -> ReportSite:
    kind = KINDS[row.kind]
    status = overall_status(kind, tracks.get(row.id, {})) if kind.tracks else row.to_status
    done_at = row.done_at if row.done_at is not None and row.done_at < as_of else None
    return ReportSite(
        id=row.id,
        key=row.key,
        kind=row.kind,
        name=row.name,
        address=row.address,
        subdistrict=row.subdistrict,
        attributes=row.attributes or {},
        geom=row.geom,
        deadline=row.deadline,
        reported_at=row.reported_at,
        done_at=done_at,
        status=status,
        level=row.level if kind.status_capacity else None,
        measures=measures,
    )
