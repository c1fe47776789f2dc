"""Which sites an export or an OGC request returns: filters by kind, status, sub-district and bounding box, and
the state as of any time replayed from the ledger (the projection when no time is given)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recovery.errors import ValidationError
from recovery.geodata import SUBDISTRICT_ORDER
from recovery.kinds import KINDS, get_kind
from recovery.ledger.asof import latest_status_events
from recovery.ledger.fold import overall_status
from recovery.models import Site

TRACKED = tuple(k.key for k in KINDS.values() if k.tracks)


@dataclass(frozen=True)
class SiteFilter:
    kind: str | None = None
    statuses: tuple[str, ...] = ()
    subdistrict: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    as_of: datetime | None = None
    keys: tuple[str, ...] = ()

    def checked(self) -> SiteFilter:
        if self.kind is not None:
            kind = get_kind(self.kind)
            for status in self.statuses:
                kind.status(status)
        if self.subdistrict is not None and self.subdistrict not in SUBDISTRICT_ORDER:
            raise ValidationError("Unknown sub-district %(value)s.", value=self.subdistrict[:40])
        return self


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


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """`minlon,minlat,maxlon,maxlat` in CRS84."""
    if text is None or text == "":
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(v == v and abs(v) != float("inf") for v in values):
        raise ValidationError(
            "bbox must be four numbers: min longitude, min latitude, max longitude, max latitude."
        )
    minx, miny, maxx, maxy = values
    if (
        minx > maxx
        or miny > maxy
        or not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90)
    ):
        raise ValidationError(
            "bbox must be four numbers: min longitude, min latitude, max longitude, max latitude."
        )
    return minx, miny, maxx, maxy


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


def _where(f: SiteFilter) -> list:
    conditions = []
    if f.kind is not None:
        conditions.append(Site.kind == f.kind)
    if f.subdistrict is not None:
        conditions.append(Site.subdistrict == f.subdistrict)
    if f.keys:
        conditions.append(Site.key.in_(f.keys))
    if f.bbox is not None:
        minx, miny, maxx, maxy = f.bbox
        conditions += [Site.maxx >= minx, Site.minx <= maxx, Site.maxy >= miny, Site.miny <= maxy]
    return conditions


def select_sites(
    session: Session, f: SiteFilter, *, offset: int = 0, limit: int | None = None, count: bool = False
) -> tuple[list[SiteRecord], int | None]:
    """One page of sites ordered by id, and (with `count`) how many match in all."""
    f = f.checked()
    if f.as_of is None:
        conditions = _where(f)
        if f.statuses:
            conditions.append(Site.status.in_(f.statuses))
        stmt = select(*_COLUMNS, Site.status, Site.track_status, Site.capacity_pct, Site.reported_at).where(
            *conditions
        )
        matched = session.scalar(select(func.count()).select_from(Site).where(*conditions)) if count else None
        page = stmt.order_by(Site.id).offset(offset)
        if limit is not None:
            page = page.limit(limit)
        return [SiteRecord(*row) for row in session.execute(page)], matched
    return _as_of(session, f, offset, limit, count)


def _as_of(session, f: SiteFilter, offset, limit, count):
    latest = latest_status_events(f.as_of, None)
    conditions = [*_where(f), latest.c.rn == 1, latest.c.track == ""]
    python_filter = bool(f.statuses) and (f.kind is None or f.kind in TRACKED)
    if f.statuses and not python_filter:
        conditions.append(latest.c.to_status.in_(f.statuses))
    stmt = (
        select(*_COLUMNS, latest.c.to_status, latest.c.level)
        .join(latest, latest.c.site_id == Site.id)
        .where(*conditions)
        .order_by(Site.id)
    )
    matched = None
    if count and not python_filter:
        matched = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if not python_filter:
        stmt = stmt.offset(offset)
        if limit is not None:
            stmt = stmt.limit(limit)
    rows = []
    for row in session.execute(stmt):
        *fields, status, level = row
        reported = None
        rows.append(SiteRecord(*fields, status, {}, level, reported))
    _fill_tracks(session, f.as_of, [r for r in rows if r.kind in TRACKED])
    if python_filter:
        rows = [r for r in rows if r.status in f.statuses]
        matched = len(rows)
        rows = rows[offset : None if limit is None else offset + limit]
    for row in rows:
        if row.kind not in TRACKED and not KINDS[row.kind].status_capacity:
            row.capacity_pct = None
    return rows, matched


def _fill_tracks(session, as_of: datetime, rows: list[SiteRecord]) -> None:
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
